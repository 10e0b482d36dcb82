"""CPU time of a process from /proc, and pinning a command to one CPU."""

from __future__ import annotations

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


def split_cpus(choice: str) -> tuple[int | None, set[int] | None]:
    """The CPU for the process under test ('none' or a single-CPU machine: no pinning) and the rest."""
    cpu = None if choice == "none" or (os.cpu_count() or 1) < 2 else int(choice)
    return cpu, (os.sched_getaffinity(0) - {cpu}) if cpu is not None else None


def pinned(command: list[str], cpu: int | None) -> list[str]:
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]
