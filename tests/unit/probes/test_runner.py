"""The guarded runner every probe shares: whatever the steps do, a reason and message by the deadline."""

from __future__ import annotations

import asyncio
import logging

import pytest

from exporter.probes import ProbeFailure
from exporter.probes.runner import guarded


async def hang():
    await asyncio.sleep(60)


async def fail():
    raise ProbeFailure("connect", "cannot connect: refused")


async def crash():
    raise KeyError("a bug")


async def succeed():
    return "answer"


@pytest.mark.parametrize("steps, value, reason, message, logged", [
    (succeed, "answer", "", "", False),
    (hang, None, "timeout", "ran out", False),
    (fail, None, "connect", "cannot connect: refused", False),
    (crash, None, "protocol", "unexpected error: KeyError('a bug')", True),  # a bug: logged with its traceback
])
def test_every_outcome_is_a_result_by_the_deadline(steps, value, reason, message, logged, caplog):
    outcome = asyncio.run(guarded(0.2, steps(), "peer.example", lambda: ("timeout", "ran out")))
    assert outcome[:3] == (value, reason, message)
    assert outcome[3] < 1.0
    assert bool(caplog.records) == logged and all("peer.example" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.ERROR and "KeyError: 'a bug'" in r.getMessage() and ", in crash\n" in r.getMessage()
               for r in caplog.records)


def test_secrets_stay_out_of_the_message_and_the_logged_traceback(caplog):
    """A bug whose message quotes the secrets, added to while the steps run (the application check's token)."""
    secrets = ["config-token"]

    async def quoting():
        secrets.append("found/token")
        raise RuntimeError("GET http://peer.example/?t=config-token&u=found%2Ftoken")

    outcome = asyncio.run(guarded(0.2, quoting(), "http://peer.example/?t=config-token", lambda: ("timeout", ""),
                                  secrets))
    assert outcome[1:3] == ("protocol", "unexpected error: RuntimeError('GET http://peer.example/?t=<hidden>&u=<hidden>')")
    [record] = caplog.records
    assert "token" not in record.getMessage() and ", in quoting\n" in record.getMessage(), record.getMessage()
