"""The host kernel's clock verdict (exporter/probes/timex.py) read from this machine's live kernel, checked
against an independent adjtimex(2) call that decodes the raw struct bytes, and served by the exporter."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from exporter.probes.timex import TIME_ERROR, read_host_clock
from tests.support import poll

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="adjtimex(2) is Linux's")

STA_UNSYNC, STA_CLOCKERR = 0x40, 0x1000
NTP_PHASE_LIMIT = 16.0  # seconds: the kernel caps maxerror here and then marks the clock unsynchronised

# glibc's adjtimex on a raw 208-byte buffer: modes (uint, padded), offset, freq, maxerror, esterror (long), status (int).
RAW_READ = """
import ctypes, json, struct
buf = ctypes.create_string_buffer(208)
state = ctypes.CDLL(None).adjtimex(buf)
modes, offset, freq, maxerror, esterror, status = struct.unpack_from("=I4xqqqqi", buf.raw)
print(json.dumps({"state": state, "maxerror": maxerror, "esterror": esterror, "status": status}))
"""


def raw_read() -> dict:
    return json.loads(subprocess.run([sys.executable, "-c", RAW_READ], capture_output=True, text=True,
                                     check=True, timeout=30).stdout)


def undisturbed(before: dict, after: dict) -> bool:
    """No time daemon updated the kernel between two raw reads: it resets maxerror and may change esterror and
    the status (chronyd and timesyncd do every poll), which a read between them cannot be compared with."""
    return (before["state"], before["status"], before["esterror"]) == (after["state"], after["status"],
                                                                       after["esterror"]) \
        and before["maxerror"] <= after["maxerror"]


def between_raw_reads(read):
    """(before, read(), after), read again (at most 3 times) while a time daemon's update fell between them."""
    for _ in range(3):
        before, value, after = raw_read(), read(), raw_read()
        if undisturbed(before, after):
            break
    return before, value, after


def test_host_clock_matches_the_kernels_own_answer():
    before, clock, after = between_raw_reads(read_host_clock)
    assert clock.status == before["status"] == after["status"]
    assert clock.synchronized == (before["state"] != TIME_ERROR)
    # maxerror only grows between the daemon's updates (0.5 ms/s), so ours lies between the two raw reads
    # unless a daemon reset it meanwhile; esterror is set by the daemon alone.
    assert before["maxerror"] / 1e6 - 0.01 <= clock.maximum_error <= after["maxerror"] / 1e6 + 0.01
    assert clock.estimated_error == pytest.approx(before["esterror"] / 1e6, abs=0.01)


def test_host_clock_values_keep_adjtimex_semantics():
    clock = read_host_clock()
    if clock.status & (STA_UNSYNC | STA_CLOCKERR):
        assert not clock.synchronized  # the kernel answers TIME_ERROR for an unsynchronised clock
    assert 0 <= clock.estimated_error <= NTP_PHASE_LIMIT
    assert 0 <= clock.maximum_error <= NTP_PHASE_LIMIT
    if clock.maximum_error >= NTP_PHASE_LIMIT:
        assert clock.status & STA_UNSYNC and not clock.synchronized
    assert abs(clock.offset) < 1.0  # the kernel refuses to slew more than 0.5 s


def test_exporter_serves_the_host_clock_only_when_asked(start_exporter, ntp):
    exporter = start_exporter({"interval": "1s", "timeout": "300ms",
                               "clock": {"servers": [ntp.address], "host_kernel": True}})

    def next_round():
        """A scrape from a clock round recorded after now (the host clock is read as the round is recorded)."""
        asked = time.time() + 0.5
        return poll(lambda: (s := exporter.scrape()).get_value(
            "spse_last_probe_timestamp_seconds", probe="ntp", name=ntp.address) > asked and s, what="a clock round")
    before, samples, after = between_raw_reads(next_round)
    assert samples.get_value("spse_host_clock_synchronized") == int(before["state"] != TIME_ERROR)
    assert samples.get_value("spse_host_clock_estimated_error_seconds") == pytest.approx(before["esterror"] / 1e6,
                                                                                         abs=0.01)
    assert before["maxerror"] / 1e6 - 0.01 <= samples.get_value("spse_host_clock_maximum_error_seconds") \
        <= after["maxerror"] / 1e6 + 0.01
    assert samples.get_value("spse_host_clock_offset_seconds") is not None

    plain = start_exporter({"interval": "1s", "timeout": "300ms", "clock": {"servers": [ntp.address]}})
    assert not [name for name, _ in plain.scrape() if name.startswith("spse_host_clock_")]
