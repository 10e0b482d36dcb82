"""The exporter's log, read from a real exporter while the peers change behaviour: every change of failure
reason is reported (connect -> 504 -> timeout), a group going partly down and back too, and each peer is
named once, never twice (`ntp://127.0.0.1:1: 127.0.0.1:1: ...`)."""

from __future__ import annotations

import pytest
import yaml

from tests.fakes import FakeNTP, FakeSPSE, TcpListener, free_port
from tests.support import poll


def new_lines(exporter, seen: list[str], fragment: str) -> list[str]:
    """Log lines not yet returned that contain `fragment`; remembers what it returned."""
    lines = [line for line in exporter.logs().splitlines() if fragment in line and line not in seen]
    seen.extend(lines)
    return lines


@pytest.mark.timeout(120)
def test_logs_report_every_change_of_reason_and_partial_failures(start_exporter):
    port = free_port()  # nothing listens yet: connect fails
    spse, ntp, anchor, second = None, FakeNTP(), TcpListener(), TcpListener(port=free_port())
    exporter = None
    try:
        exporter = start_exporter({
            "interval": "1s", "timeout": "500ms",
            "targets": [{"name": "lpse", "url": f"http://127.0.0.1:{port}/eproc4"}],
            "clock": {"servers": [ntp.address]},
            "upstream": {"global": [f"tcp://{anchor.address}", f"tcp://{second.address}", f"ntp://{ntp.address}"]}})
        seen: list[str] = []

        def wait_for(fragment: str) -> str:
            return poll(lambda: new_lines(exporter, seen, fragment), 15, 0.1, repr(fragment))[0]

        assert "(connect)" not in wait_for("probe http/lpse failing: connect: ")
        spse = FakeSPSE(port=port)
        spse.set("status", status=504)
        wait_for("probe http/lpse still failing, now: http_status 504: ")
        spse.set("hang")
        wait_for("probe http/lpse still failing, now: timeout: ")
        spse.set("ok")
        wait_for("probe http/lpse recovered")

        # One check of three fails: the group is partly down, then more of it, then back.
        second.close()
        line = wait_for("probe upstream/global partly failing: 1 of 3 checks failing: ")
        assert f"tcp://{second.address}: connect: cannot connect: Connection " in line, line  # refused or reset
        ntp.set("silent")
        line = wait_for("probe upstream/global still partly failing, now: 2 of 3 checks failing: ")
        assert f"ntp://{ntp.address}: timeout: no " in line, line
        clock = wait_for("probe clock failing: none of the SPSE server's own time sources answered")
        assert f"{ntp.address}: timeout: no valid reply" in clock, clock
        ntp.set("ok")
        second = TcpListener(port=int(second.address.rsplit(":", 1)[1]))
        wait_for("probe upstream/global recovered")
        wait_for("probe clock recovered")

        # Every peer is named once: by the label the scheduler adds, not again by the probe's message.
        for line in seen:
            if "upstream/global" in line or "probe clock" in line:
                assert line.count(ntp.address) <= 1 and line.count(second.address) <= 1, line
                assert "Connect call failed" not in line, line  # asyncio's wording repeats the address
    finally:
        for fake in (spse, ntp, anchor, second):
            if fake:
                fake.close()


@pytest.mark.timeout(60)
def test_a_target_removed_and_added_again_says_again_that_it_fails(start_exporter):
    """What the log said about a probe is forgotten with the probe: added back by a reload and still failing,
    it is logged as failing again, not passed over as already said."""
    port = free_port()  # nothing listens: connect fails
    failing = {"interval": "1s", "timeout": "500ms", "targets": [{"name": "lpse", "url": f"http://127.0.0.1:{port}/"}]}
    without = {"interval": "1s", "timeout": "500ms", "upstream": {"custom_lan": [f"tcp://127.0.0.1:{port}"]}}
    exporter = start_exporter(failing)
    seen: list[str] = []

    def wait_for(fragment: str) -> str:
        return poll(lambda: new_lines(exporter, seen, fragment), 15, 0.1, repr(fragment))[0]

    wait_for("probe http/lpse failing: connect: ")
    for config, logged in ((without, "probe upstream/custom_lan failing"), (failing, "probe http/lpse failing: connect: ")):
        exporter.config_path.write_text(yaml.safe_dump(config))
        exporter.signal()
        wait_for(logged)


@pytest.mark.timeout(60)
def test_credentials_in_the_config_never_reach_the_log(start_exporter):
    """A target URL with a token in its query, an Authorization header, and an http check with a key in its
    query: the site loops its redirects back to the URL, token and all, and the check's port is closed. The
    log says both fail, with <hidden> where the credentials were."""
    spse, port = FakeSPSE(), free_port()  # nothing listens on port
    spse.set("redirect_loop")
    token, bearer, key = "t0ken-in-the-query", "bearer-secret-42", "check-key-0815"
    try:
        exporter = start_exporter({
            "interval": "1s", "timeout": "500ms",
            "targets": [{"name": "lpse", "url": f"{spse.url}?session={token}", "max_redirects": 1,
                         "headers": {"Authorization": f"Bearer {bearer}"}}],
            "upstream": {"global": [f"http://127.0.0.1:{port}/?key={key}"]}})
        poll(lambda: "probe upstream/global failing" in exporter.logs() and "probe http/lpse failing" in exporter.logs(),
             15, 0.1, "both failures logged")
        logs = exporter.logs()
        assert f"more than 1 redirects (last to {spse.url}?<hidden>)" in logs, logs
        assert f"http://127.0.0.1:{port}/?<hidden>: connect: " in logs, logs
        assert token not in logs and bearer not in logs and key not in logs, logs
    finally:
        spse.close()
