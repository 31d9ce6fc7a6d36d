# The two commands: `make run` serves the API with a local PostGIS and sample data,
# `make test` runs lint, type check and the whole test suite. Both install what is missing.
.PHONY: setup db run test lint format collector bench bench-quick bench-overhead bench-profile bench-ab reliability

setup:
	@scripts/setup.sh

db: setup
	@scripts/db.sh

run: setup
	@scripts/run.sh

test: setup
	@scripts/test.sh

# The local collector (otel-config.yaml's components, ADOT's collector version); prints its path last.
collector:
	@scripts/collector.sh

# Every case against every request kind, interleaved; writes BENCHMARKS.md (under 15 minutes).
bench: setup
	@scripts/bench.sh bench.run

# The same with three request kinds and shorter runs (under 3 minutes once the data is loaded).
bench-quick: setup
	@scripts/bench.sh bench.run --quick

# Throughput of one items request traced vs OTEL_SDK_DISABLED=true, interleaved (a few minutes).
reliability: setup
	@scripts/reliability.sh

bench-ab: setup
	@scripts/bench.sh bench.ab

bench-profile: setup
	@scripts/bench.sh bench.profile

bench-overhead: setup
	@scripts/bench.sh bench.overhead

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
