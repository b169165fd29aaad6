"""How much CPU the rest of the box took while something was measured: a shared box's interference, per measurement.

The load average says how busy the box was over the last minute; a tuner needs to know whether *this* 3-second
measurement competed with a training job. From /proc (Linux): the box's busy CPU time over the window, minus what
the measured processes used (this process, its reaped children such as `hey`, and the server's process tree).
Elsewhere it reports None.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PROC = Path("/proc")


def _busy_jiffies() -> int | None:
    """Busy CPU time of the whole box (user, nice, system, irq, softirq, steal), in clock ticks."""
    try:
        fields = (PROC / "stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return user + nice + system + irq + softirq + steal


def _stat(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": field 3 (state) onwards


def _tree(root: int) -> set[int]:
    """``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in out:
            out.add(pid)
            todo.extend(children.get(pid, []))
    return out


def _jiffies(pids: set[int], with_children: int) -> int:
    """CPU ticks used by ``pids`` (user + system), and by ``with_children``'s reaped children too."""
    total = 0
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            total += int(stat[11]) + int(stat[12])  # utime, stime
            if pid == with_children:
                total += int(stat[13]) + int(stat[14])  # cutime, cstime: children waited for (hey)
    return total


class OtherCPU:
    """``with OtherCPU(server_pid) as meter: ...`` then ``meter.cores``: the cores' worth of CPU that processes
    other than this one, its reaped children and the server's tree took during the block (None off Linux)."""

    def __init__(self, *watched: int) -> None:
        self.watched = watched
        self.cores: float | None = None

    def _sample(self) -> tuple[float, int | None, int]:
        pids = {os.getpid()}
        for pid in self.watched:
            pids |= _tree(pid)
        return time.monotonic(), _busy_jiffies(), _jiffies(pids, os.getpid())

    def __enter__(self) -> OtherCPU:
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._sample()
        (t0, busy0, mine0), (t1, busy1, mine1) = self._start, end
        if busy0 is None or busy1 is None or t1 <= t0:
            return
        ticks = os.sysconf("SC_CLK_TCK")
        self.cores = max(0.0, ((busy1 - busy0) - (mine1 - mine0)) / ticks / (t1 - t0))
