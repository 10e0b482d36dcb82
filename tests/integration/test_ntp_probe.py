"""The NTP probe against Debian's chronyd on a loopback port (tests/real_servers.py, the start_chrony fixture),
shifted with libfaketime, synchronised or not."""

from __future__ import annotations

import pytest

from tests.unit.probes.test_ntp import query


@pytest.mark.parametrize("offset", [0.0, 2.5, -3.0])
def test_offset_to_a_real_chronyd_has_its_sign_and_size(start_chrony, offset):
    """A server ahead of us gives a positive offset (our clock is behind), as chrony reports it."""
    chrony = start_chrony(offset=offset)
    result = query(chrony.address)
    assert (result.success, result.reason, result.stratum) == (True, "", 8)
    assert result.offset == pytest.approx(offset, abs=0.020)
    assert 0 <= result.rtt < 0.05


def test_real_chronyd_without_a_reference_is_unsynchronized_not_kod(start_chrony):
    """chronyd that lost its sources answers leap 3, stratum 0: the incident's situation, not a refusal."""
    chrony = start_chrony(synced=False)
    result = query(chrony.address)
    assert (result.success, result.reason, result.offset) == (False, "unsynchronized", None)
    assert "leap 3, stratum 0" in result.message
