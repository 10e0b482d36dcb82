"""A gateway group of one check that the router refuses (many refuse TCP 53) must not silence the
national and global alerts while the internet answers; once national and global are lost too, the
gateway explains them and silences them. Real exporter, Prometheus and Alertmanager, the shipped
rules and routing 15 times faster (tests/stack.py)."""

from __future__ import annotations

import pytest

from tests.fakes import TcpListener, free_port
from tests.stack import compress_rules, render_alertmanager_config, render_prometheus_config
from tests.support import poll

SPEEDUP = 15


@pytest.mark.timeout(180)
def test_a_refused_gateway_check_silences_nothing_until_national_and_global_agree(
        tmp_path, start_exporter, start_prometheus, start_alertmanager, webhook_receiver):
    global_anchor = TcpListener()
    try:
        exporter = start_exporter({"interval": "1s", "timeout": "500ms", "upstream": {
            "gateway": [f"tcp://127.0.0.1:{free_port()}"],   # the router refuses this port
            "national": [f"tcp://127.0.0.1:{free_port()}"],  # national sites are unreachable
            "global": [f"tcp://{global_anchor.address}"]}})  # the internet answers
        alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url, SPEEDUP))
        prometheus = start_prometheus(render_prometheus_config(
            tmp_path, exporter=exporter.address, alertmanager=alertmanager.address,
            rules_dir=compress_rules(tmp_path / "rules", SPEEDUP), scrape_interval="1s", evaluation_interval="1s"),
            ["--rules.alert.resend-delay=1s"])

        def states() -> dict[str, str]:
            return {a["labels"]["alertname"]: a["status"]["state"] for a in alertmanager.alerts()}

        # The gateway check fails from the first round, yet it is not a lost gateway: national pages.
        poll(lambda: states().get("UpstreamNationalLost") == "active", 60, 0.5, "UpstreamNationalLost, not inhibited")
        assert prometheus.query('upstream:group_lost{group="gateway"} == 1'), "the gateway check should fail"
        assert prometheus.query('count_over_time(ALERTS{alertname="UpstreamGatewayLost"}[1m])') == []
        assert "UpstreamGatewayLost" not in states()

        # Global is lost as well: now the router explains everything beyond it.
        global_anchor.close()
        wanted = {"UpstreamGatewayLost": "active", "UpstreamNationalLost": "suppressed", "UpstreamGlobalLost": "suppressed"}
        poll(lambda: wanted.items() <= states().items(), 60, 0.5, "UpstreamGatewayLost silencing national and global")
    finally:
        global_anchor.close()


def test_a_lost_gateway_silences_only_the_groups_it_explains(tmp_path, start_alertmanager, webhook_receiver):
    """On the real Alertmanager: a (confirmed) lost gateway silences the national, global and gateway alerts
    of its site; a custom_ group may be on the LAN, so its degradation still shows."""
    alertmanager = start_alertmanager(render_alertmanager_config(tmp_path, webhook_receiver.url))
    site = {"site": "a", "severity": "critical"}
    posted = [{**site, "alertname": "UpstreamGatewayLost", "group": "gateway"},
              {**site, "alertname": "UpstreamNationalLost", "group": "national"},
              {**site, "alertname": "UpstreamGlobalLost", "group": "global"},
              {**site, "alertname": "UpstreamDegraded", "group": "gateway", "severity": "warning"},
              {**site, "alertname": "UpstreamDegraded", "group": "custom_lan", "severity": "warning"},
              {"site": "b", "severity": "critical", "alertname": "UpstreamNationalLost", "group": "national"}]
    alertmanager.post_alerts(posted)

    expected = {
        ("a", "UpstreamGatewayLost", "gateway"): "active",
        ("a", "UpstreamNationalLost", "national"): "suppressed",
        ("a", "UpstreamGlobalLost", "global"): "suppressed",
        ("a", "UpstreamDegraded", "gateway"): "suppressed",
        ("a", "UpstreamDegraded", "custom_lan"): "active",      # not beyond the router, as far as we know
        ("b", "UpstreamNationalLost", "national"): "active",    # another site
    }

    # Inhibition settles once Alertmanager's inhibitor has seen the source alerts: poll until it has.
    def states():
        got = {(a["labels"]["site"], a["labels"]["alertname"], a["labels"]["group"]): a["status"]["state"]
               for a in alertmanager.alerts()}
        assert got == expected
        return got
    poll(states, 20, 0.2, "the posted alerts in their expected states")
