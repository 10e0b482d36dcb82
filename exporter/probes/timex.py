"""The host kernel's verdict on its clock, read with adjtimex(2) as node_exporter's timex collector does.

The kernel's clock is the host's, in a container too: run the exporter on the SPSE host and this
is SPSE's own view of whether its time is synchronised, whatever the exporter's time sources say.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from dataclasses import dataclass

TIME_ERROR = 5  # adjtimex's return value while the clock is not synchronised
STA_NANO = 0x2000  # offset is in nanoseconds rather than microseconds


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """glibc's struct timex (sys/timex.h)."""

    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time", _Timeval), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
                ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
                ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
                ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("_padding", ctypes.c_int * 11)]


@dataclass(frozen=True)
class HostClock:
    synchronized: bool  # adjtimex did not return TIME_ERROR (STA_UNSYNC clear)
    estimated_error: float  # seconds
    maximum_error: float  # seconds; grows by 500us per second while nothing disciplines the clock
    offset: float  # seconds the kernel is still slewing away; 0 when the daemon steers the clock itself
    status: int  # the raw STA_* flags


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def read_host_clock() -> HostClock:
    """Read, never set (modes 0: no privilege needed); raise OSError if the call fails."""
    timex = _Timex()
    state = _libc().adjtimex(ctypes.byref(timex))
    if state < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"adjtimex: {os.strerror(errno)}")
    unit = 1e-9 if timex.status & STA_NANO else 1e-6
    return HostClock(synchronized=state != TIME_ERROR, estimated_error=timex.esterror / 1e6,
                     maximum_error=timex.maxerror / 1e6, offset=timex.offset * unit, status=timex.status)
