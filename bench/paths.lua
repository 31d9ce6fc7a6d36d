-- wrk script: cycle through the request paths in the file given after `--`.
-- With WRK_COUNT_STATUSES set, it also counts the answers by status code and prints them at the
-- end as `statuses: 200=1234 503=5` (bench/wrk.py reads that line to classify failures).
local paths = {}
local next_index = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  statuses = {}
end

function request()
  next_index = next_index % #paths + 1
  return wrk.format("GET", paths[next_index])
end

if os.getenv("WRK_COUNT_STATUSES") then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end

  function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
        total[status] = (total[status] or 0) + count
      end
    end
    local parts = {}
    for status, count in pairs(total) do
      parts[#parts + 1] = status .. "=" .. count
    end
    table.sort(parts)
    io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  end
end
