"""An upstream ntp:// check of Debian's chronyd, in a running exporter beside its clock probe."""

from __future__ import annotations

import json

from tests.support import http_get


def test_unsynchronised_chronyd_is_reachable_upstream_but_not_a_valid_clock(start_chrony, start_exporter):
    """Debian's chronyd without a reference (leap 3, stratum 0) as one exporter's national ntp:// check and its
    clock source: the link is up, and /probes says why the clock probe still rejects the server."""
    chrony = start_chrony(synced=False)
    exporter = start_exporter({"interval": "1s", "timeout": "800ms", "clock": {"servers": [chrony.address]},
                               "upstream": {"national": [f"ntp://{chrony.address}"]}})
    samples = exporter.scrape()
    assert samples.get_value("spse_upstream_group_reachable_ratio", group="national") == 1
    assert samples.get_value("spse_ntp_probe_success", server=chrony.address) == 0
    # The check can no longer fail as unsynchronized or kod: no such series, while origin_mismatch stays listed.
    failures = {dict(labels)["reason"] for labels in samples.series("spse_upstream_probe_failures_total")}
    assert "origin_mismatch" in failures and not failures & {"unsynchronized", "kod"}, failures
    probes = json.loads(http_get(f"{exporter.url}/probes")[1])
    message = probes["upstream/national"]["checks"][f"ntp://{chrony.address}"]["message"]
    assert message.startswith("reachable; server unsynchronized (leap 3, stratum 0"), message
