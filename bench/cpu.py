"""CPU time by process, read from /proc: where a run's CPU went on this machine.

On a 2-core machine a database-bound request is bound by the cores it shares: the worker, the
PostgreSQL backends, the sink or collector and wrk take turns on the same two. CPU per request
by process says which of them a change (tracing, say) took cores from (bench/overhead.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _seconds(stat: Path) -> float:
    """utime + stime of one /proc/<pid>/stat (fields 14 and 15, counted after the `comm`)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def _named(name: str) -> list[Path]:
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if (process / "comm").read_text().strip() == name:
                found.append(process / "stat")
        except OSError:  # ended while listed
            continue
    return found


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far of one process (all its threads) and of the processes of one name."""

    process: float
    named: dict[str, float]  # by /proc/<pid>/stat: processes that end take their count along

    @classmethod
    def take(cls, pid: int, name: str) -> CpuSnapshot:
        named = {}
        for stat in _named(name):
            try:
                named[str(stat)] = _seconds(stat)
            except OSError:
                continue
        return cls(_seconds(Path(f"/proc/{pid}/stat")), named)

    def since(self, earlier: CpuSnapshot) -> tuple[float, float]:
        """(the process's CPU seconds, the named processes') between `earlier` and this one; a
        named process that started in between counts from zero."""
        named = sum(t - earlier.named.get(k, 0.0) for k, t in self.named.items())
        return self.process - earlier.process, named
