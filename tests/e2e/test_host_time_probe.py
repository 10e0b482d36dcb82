"""The host_time probe against Debian's real chronyd and ntpsec (read with chronyc and ntpq), and against
clients answering badly."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest
import yaml

from exporter.config import HostTimeConfig, parse_config
from exporter.metrics import Metrics
from exporter.probes.host_time import (HostTimeRound, parse_chrony_sources, parse_chrony_tracking,
                                       parse_ntpq_leap, parse_ntpq_peers, parse_timedatectl_synchronised,
                                       parse_timesyncd, probe_host_time, record)
from exporter.probes.kind import ProbeKey
from tests import netns
from tests.fakes import free_port
from tests.real_servers import CHRONYC, ChronyServer, NtpsecDaemon
from tests.support import parse_metrics, poll

# Recorded from chronyc 4.3 (Debian 12) reading a chronyd with one answering and one silent source.
SOURCES = ("^,*,127.0.0.1,8,-4,377,0,-0.000000453,-0.000000512,0.000004192\n"
           "^,?,127.0.0.2,0,0,0,4294967295,0.000000000,0.000000000,0.000000000\n")
TRACKING_SYNCED = ("7F000001,127.0.0.1,9,1796652200.090797634,-0.000003080,-0.000000059,0.000000175,0.126,"
                   "-0.004,0.598,0.000007006,0.000000638,0.1,Normal\n")
TRACKING_UNSYNCED = ("00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,"
                     "1.000000000,0.0,Not synchronised\n")


def host_time_config(chronyc: list[str], **section) -> HostTimeConfig:
    """The host_time section of a config that has only that (timeout 5s: a loaded machine runs chronyc slowly);
    no ntpq or timedatectl unless given, so that auto finds only the chronyd under test."""
    return parse_config(yaml.safe_dump({"host_time": {"chronyc": chronyc, "ntpq": ["/nonexistent/ntpq"],
                                                      "timedatectl": ["/nonexistent/timedatectl"],
                                                      "timeout": "5s", "interval": "15s", **section}})).host_time


def script(text: str) -> list[str]:
    """A chronyc stand-in: a shell script, given chronyc's options as its arguments."""
    return ["sh", "-c", text, "chronyc"]


def read(spec) -> HostTimeRound:
    return asyncio.run(probe_host_time(spec))


def exposition(spec, round_: HostTimeRound) -> dict:
    metrics = Metrics()
    record(metrics, ProbeKey("host_time"), spec, round_)
    return parse_metrics(metrics.exposition.render().decode())


def test_chronyc_sources_are_parsed_with_the_reach_register_in_octal():
    selected, silent = parse_chrony_sources(SOURCES)
    assert (selected.name, selected.mode, selected.state, selected.stratum, selected.reach) == (
        "127.0.0.1", "server", "*", 8, 0o377)
    assert selected.reachable and not silent.reachable
    assert parse_chrony_sources("^,+,10.0.0.1,2,6,1,3,0,0,0\n")[0].reach == 1  # one answer out of eight polls
    assert parse_chrony_sources("") == []


def test_chronyc_tracking_says_synchronised_or_not():
    assert parse_chrony_tracking(TRACKING_SYNCED) is True
    assert parse_chrony_tracking(TRACKING_UNSYNCED) is False
    assert parse_chrony_tracking(TRACKING_SYNCED.replace("Normal", "Not synchronised")) is False


@pytest.mark.parametrize("garbage", ["hello\n", "^,*,127.0.0.1,8,-4,999,0,0,0,0\n", "^,*,127.0.0.1,x,-4,377,0,0,0,0\n",
                                     "^,*,,8,-4,377,0,0,0,0\n", SOURCES.replace(",", ";")])
def test_chronyc_sources_garbage_is_refused_naming_the_line(garbage):
    with pytest.raises(ValueError, match="line 1"):
        parse_chrony_sources(garbage)


def test_a_missing_chronyc_is_no_daemon_in_auto_mode_and_a_failure_when_chrony_is_asked_for(tmp_path):
    missing = [str(tmp_path / "no-chronyc")]
    auto = read(host_time_config(missing))
    assert (auto.daemon, auto.reason) == ("none", "not_installed")
    samples = exposition(host_time_config(missing), auto)
    assert samples.get_value("spse_host_time_synchronised", daemon="none") == 0
    assert samples.get_value("spse_host_time_sources", daemon="none", group="unknown") == 0
    chrony = read(host_time_config(missing, daemon="chrony"))
    assert (chrony.daemon, chrony.reason) == ("chrony", "not_installed")
    assert "not found" in chrony.message


def test_chronyd_not_running_is_no_daemon_with_chronycs_own_words():
    port = free_port(kind=socket.SOCK_DGRAM)  # nothing listens: the real chronyc says 506
    round_ = read(host_time_config([str(CHRONYC), "-h", "127.0.0.1", "-p", str(port)]))
    assert (round_.daemon, round_.reason) == ("none", "not_running")
    assert "506 Cannot talk to daemon" in round_.message


def test_garbage_from_chronyc_is_bad_output_not_a_crash():
    round_ = read(host_time_config(script("echo '<html>proxy error</html>'")))
    assert (round_.daemon, round_.reason) == ("chrony", "bad_output")
    assert "garbage" in round_.message and "proxy error" in round_.message
    assert exposition(host_time_config(script("true")), round_).get_value(
        "spse_host_time_synchronised", daemon="chrony") == 0


def test_a_hanging_chronyc_is_killed_at_the_timeout(tmp_path):
    pid_file = tmp_path / "pid"
    spec = host_time_config(script(f"echo $$ > {pid_file}; exec sleep 600"), timeout="1s")
    began = time.monotonic()
    round_ = read(spec)
    assert (round_.daemon, round_.reason) == ("chrony", "timeout")
    assert time.monotonic() - began < 60  # bounded by the timeout, not by sleep's 600 s
    pid = int(pid_file.read_text())
    poll(lambda: not os.path.exists(f"/proc/{pid}"), 30, what="the hung chronyc killed")


def test_a_hundred_sources_each_get_a_series(tmp_path):
    lines = "".join(f"^,-,10.1.{i // 250}.{i % 250 + 1},3,6,{'377' if i % 2 else '0'},10,0,0,0\n" for i in range(100))
    (tmp_path / "sources").write_text(lines)
    (tmp_path / "tracking").write_text(TRACKING_SYNCED)
    spec = host_time_config(script(f'if [ "$3" = sources ]; then cat {tmp_path}/sources; '
                                   f'else cat {tmp_path}/tracking; fi'), national_networks=["10.1.0.0/16"])
    round_ = read(spec)
    assert round_.success and len(round_.sources) == 100
    samples = exposition(spec, round_)
    assert samples.get_value("spse_host_time_sources", daemon="chrony", group="national") == 100
    assert sorted(samples.series("spse_host_time_source_reachable").values()) == [0] * 50 + [1] * 50


def test_real_chronyd_sources_are_grouped_and_their_reach_read(start_chrony, start_chrony_client):
    """A host's chronyd with a global source (a clock server this config routes via global), a national one (by
    national_networks), one the config does not know, and one that never answers."""
    global_server = start_chrony()
    national_server = start_chrony(host="127.0.0.2")
    unknown_server = start_chrony(host="127.0.0.3")
    silent = ("127.0.0.4", free_port("127.0.0.4", kind=socket.SOCK_DGRAM))
    daemon = start_chrony_client([f"{s.host} {s.port}" for s in (global_server, national_server, unknown_server)]
                                 + [f"{silent[0]} {silent[1]}"])
    spec = parse_config(yaml.safe_dump({
        "clock": {"servers": [{"host": global_server.address, "via": "global"}]},
        "upstream": {"global": [f"ntp://{global_server.address}"]},
        "host_time": {"chronyc": daemon.chronyc, "national_networks": ["127.0.0.2/32"], "timeout": "5s"}})).host_time

    def settled():
        round_ = read(spec)
        reached = {s.name for s in round_.sources if s.reachable}
        return round_ if round_.synchronised and reached == {"127.0.0.1", "127.0.0.2", "127.0.0.3"} else None
    round_ = poll(settled, 60, interval=0.5, what="chronyd reaching its three answering sources")
    samples = exposition(spec, round_)
    reachable = {(dict(labels)["source"], dict(labels)["group"]): value
                 for labels, value in samples.series("spse_host_time_source_reachable").items()}
    assert reachable == {("127.0.0.1", "global"): 1, ("127.0.0.2", "national"): 1, ("127.0.0.3", "unknown"): 1,
                         ("127.0.0.4", "unknown"): 0}
    counts = {dict(labels)["group"]: value for labels, value in samples.series("spse_host_time_sources").items()}
    assert counts == {"gateway": 0, "national": 1, "global": 1, "unknown": 2}
    assert samples.get_value("spse_host_time_synchronised", daemon="chrony") == 1


def test_real_chronyd_with_no_answering_source_is_not_synchronised(start_chrony_client):
    silent = f"127.0.0.4 {free_port('127.0.0.4', kind=socket.SOCK_DGRAM)}"
    daemon = start_chrony_client([silent])
    spec = host_time_config(daemon.chronyc)

    def polled():  # iburst has sent its first requests: the register still says none came back
        round_ = read(spec)
        return round_ if round_.success and round_.sources else None
    round_ = poll(polled, 60, interval=0.5, what="chronyd listing its source")
    assert [(s.name, s.reachable) for s in round_.sources] == [("127.0.0.4", False)]
    samples = exposition(spec, round_)
    assert samples.get_value("spse_host_time_synchronised", daemon="chrony") == 0
    assert samples.get_value("spse_host_time_source_reachable", daemon="chrony", group="unknown", source="127.0.0.4") == 0


# Recorded from ntpsec 1.2.2's ntpq (Debian 12): ntpd synchronised to a chronyd, one source never answering.
NTPQ_PEERS = """     remote           refid      st t when poll reach   delay   offset   jitter
===============================================================================
*203.0.113.10    127.127.1.1      8 u    1    8    1   0.0367   0.0077   0.0151
 192.0.2.99      .INIT.          16 u    -    8    0   0.0000   0.0000   0.0001
"""


def test_ntpq_peers_are_parsed_with_the_reach_register_in_octal():
    selected, silent = parse_ntpq_peers(NTPQ_PEERS)
    assert (selected.name, selected.mode, selected.state, selected.stratum, selected.reach) == (
        "203.0.113.10", "u", "*", 8, 1)
    assert selected.reachable and not silent.reachable
    wrapped = NTPQ_PEERS.replace("*203.0.113.10    127.127.1.1", "*2001:db8::10\n                 127.127.1.1")
    assert parse_ntpq_peers(wrapped)[0].name == "2001:db8::10"  # ntpq puts what follows a long remote on a new line
    with pytest.raises(ValueError, match="line 3"):
        parse_ntpq_peers(NTPQ_PEERS.replace(" 8    1 ", " 8    9 "))
    with pytest.raises(ValueError, match="not ntpq -p output"):
        parse_ntpq_peers("***Socket error\n")


def test_ntpq_leap_says_synchronised_or_not():
    assert parse_ntpq_leap("leap=00\n") is True
    assert parse_ntpq_leap("leap=11\n") is False  # recorded from ntpd with no answering source
    with pytest.raises(ValueError):
        parse_ntpq_leap("associd=0 status=c016\n")


def test_ntpd_not_running_is_no_daemon(tmp_path):
    spec = host_time_config([str(tmp_path / "no-chronyc")],
                            ntpq=script("echo '***Socket error; probably ntpd is not running' >&2"))
    round_ = read(spec)
    assert (round_.daemon, round_.reason) == ("none", "not_running")
    assert "not found" in round_.message and "probably ntpd is not running" in round_.message


@pytest.mark.skipif(bool(netns.unavailable()), reason=netns.unavailable() or "")
def test_real_ntpsec_sources_are_grouped_and_their_reach_read(tmp_path):
    """ntpd on the SPSE host (namespace lpse) with a national chronyd, a global one and a silent address."""
    topology = netns.Topology(tmp_path)
    started = []
    try:
        for namespace, address in ((topology.national, netns.NATIONAL), (topology.internet, netns.INTERNET)):
            server = ChronyServer(tmp_path / address, 123, host=address, allow="all",
                                  wrapper=["ip", "netns", "exec", namespace.name])
            started.append(server)
            namespace.call(server.wait_ready)
        daemon = NtpsecDaemon(tmp_path / "ntpd", [netns.NATIONAL, netns.INTERNET, netns.INTERNET_2],
                              ["ip", "netns", "exec", topology.lpse.name])
        started.append(daemon)
        daemon.wait_ready()
        spec = parse_config(yaml.safe_dump({
            "clock": {"servers": [{"host": netns.INTERNET, "via": "global"}]},
            "upstream": {"global": [f"ntp://{netns.INTERNET}"]},
            "host_time": {"chronyc": ["/nonexistent/chronyc"], "ntpq": daemon.ntpq, "timeout": "8s",
                          "national_networks": ["198.51.100.0/24"]}})).host_time

        def settled():
            round_ = read(spec)
            reached = {s.name for s in round_.sources if s.reachable}
            return round_ if round_.synchronised and reached == {netns.NATIONAL, netns.INTERNET} else None
        round_ = poll(settled, 90, interval=1, what="ntpd reaching and selecting its two answering sources")
        assert round_.daemon == "ntpsec"  # auto: no chronyc here, so ntpq
        samples = exposition(spec, round_)
        reachable = {(dict(labels)["source"], dict(labels)["group"]): value
                     for labels, value in samples.series("spse_host_time_source_reachable").items()}
        assert reachable == {(netns.NATIONAL, "national"): 1, (netns.INTERNET, "global"): 1,
                             (netns.INTERNET_2, "unknown"): 0}
        assert samples.get_value("spse_host_time_synchronised", daemon="ntpsec") == 1
    finally:
        for process in started:
            process.stop()
        topology.close()


def test_a_configured_name_matches_the_address_the_daemon_lists(tmp_path):
    """chronyc -n lists addresses; clock.servers may name the same source: `localhost` (from /etc/hosts, no DNS
    query leaves the machine) is matched through its resolved 127.0.0.1."""
    (tmp_path / "sources").write_text("^,*,127.0.0.1,2,6,377,10,0,0,0\n^,+,127.0.0.9,2,6,377,10,0,0,0\n")
    (tmp_path / "tracking").write_text(TRACKING_SYNCED)
    spec = parse_config(yaml.safe_dump({
        "clock": {"servers": [{"host": "localhost", "via": "national"}]},
        "upstream": {"national": ["tcp://127.0.0.5:9"]},  # not 127.0.0.1: only the name can match it
        "host_time": {"chronyc": script(f'if [ "$3" = sources ]; then cat {tmp_path}/sources; '
                                        f'else cat {tmp_path}/tracking; fi'), "timeout": "5s"}})).host_time
    assert [(s.name, s.group) for s in read(spec).sources] == [("127.0.0.1", "national"), ("127.0.0.9", "unknown")]


# timedatectl show-timesync --all as systemd 252 prints it (the field layout of published outputs; documentation
# addresses): Debian's default, the fallback pool only, synchronised to its first server.
TIMESYNC_DEBIAN = """LinkNTPServers=
SystemNTPServers=
RuntimeNTPServers=
FallbackNTPServers=0.debian.pool.ntp.org 1.debian.pool.ntp.org 2.debian.pool.ntp.org 3.debian.pool.ntp.org
ServerName=0.debian.pool.ntp.org
ServerAddress=203.0.113.7
RootDistanceMaxUSec=5s
PollIntervalMinUSec=32s
PollIntervalMaxUSec=34min 8s
PollIntervalUSec=8min 32s
NTPMessage={ Leap=0, Version=4, Mode=4, Stratum=2, Precision=-23, RootDelay=17.013ms, RootDispersion=504.623ms, \
Reference=DA498B23, OriginateTimestamp=Tue 2026-05-12 10:49:04 WIB, ReceiveTimestamp=Tue 2026-05-12 10:49:04 WIB, \
TransmitTimestamp=Tue 2026-05-12 10:49:04 WIB, DestinationTimestamp=Tue 2026-05-12 10:49:04 WIB, Ignored=no, \
PacketCount=9, Jitter=11.984ms }
Frequency=1082740
"""
# Its own servers configured (NTP= in timesyncd.conf), the first not answering yet: no NTPMessage.
TIMESYNC_NO_REPLY = """LinkNTPServers=
SystemNTPServers=198.51.100.123 ntp.contoh.example
RuntimeNTPServers=
FallbackNTPServers=0.debian.pool.ntp.org
ServerName=198.51.100.123
ServerAddress=198.51.100.123
RootDistanceMaxUSec=5s
PollIntervalMinUSec=32s
PollIntervalMaxUSec=34min 8s
Frequency=0
"""


def test_timesyncd_lists_its_servers_and_only_the_one_in_use_answers():
    sources = parse_timesyncd(TIMESYNC_DEBIAN)
    assert [(s.name, s.stratum, s.reachable) for s in sources] == [
        ("203.0.113.7", 2, True), ("1.debian.pool.ntp.org", 0, False), ("2.debian.pool.ntp.org", 0, False),
        ("3.debian.pool.ntp.org", 0, False)]
    # its own servers replace the fallback list; no reply yet is no reachable source
    assert [(s.name, s.reachable) for s in parse_timesyncd(TIMESYNC_NO_REPLY)] == [
        ("198.51.100.123", False), ("ntp.contoh.example", False)]
    unsynchronised = TIMESYNC_DEBIAN.replace("Leap=0,", "Leap=3,").replace("Stratum=2,", "Stratum=0,")
    assert not any(s.reachable for s in parse_timesyncd(unsynchronised))
    assert parse_timedatectl_synchronised("NTPSynchronized=yes\n") is True
    assert parse_timedatectl_synchronised("NTPSynchronized=no\n") is False
    for garbage in ("<html>proxy error</html>", "NTPSynchronized=maybe"):
        with pytest.raises(ValueError):
            parse_timedatectl_synchronised(garbage)
    with pytest.raises(ValueError, match="not timedatectl show-timesync output"):
        parse_timesyncd("hello\n")


def test_timesyncd_read_through_timedatectl_is_grouped_and_exported(tmp_path):
    (tmp_path / "timesync").write_text(TIMESYNC_DEBIAN)
    spec = host_time_config([str(tmp_path / "no-chronyc")], timedatectl=script(
        f'if [ "$1" = show-timesync ]; then cat {tmp_path}/timesync; else echo NTPSynchronized=yes; fi'),
        national_networks=["203.0.113.0/24"])
    round_ = read(spec)
    assert round_.daemon == "timesyncd" and round_.success  # auto: no chronyc, no ntpq
    samples = exposition(spec, round_)
    assert samples.get_value("spse_host_time_source_reachable", daemon="timesyncd", source="203.0.113.7",
                             group="national") == 1
    assert samples.get_value("spse_host_time_sources", daemon="timesyncd", group="unknown") == 3
    assert samples.get_value("spse_host_time_synchronised", daemon="timesyncd") == 1


@pytest.mark.skipif(not os.path.exists("/usr/bin/timedatectl") or os.path.exists("/run/systemd/system"),
                    reason="needs systemd's timedatectl on a machine not booted with systemd")
def test_the_real_timedatectl_without_systemd_is_timesyncd_not_running():
    """What this machine's timedatectl says with no systemd as PID 1 (containers, CI): not a crash, not garbage."""
    spec = host_time_config([CHRONYC.as_posix() + "-absent"], daemon="timesyncd", timedatectl=["/usr/bin/timedatectl"])
    round_ = read(spec)
    assert (round_.daemon, round_.reason) == ("timesyncd", "not_running")
    assert "Failed to connect to bus" in round_.message
    auto = read(host_time_config([CHRONYC.as_posix() + "-absent"], timedatectl=["/usr/bin/timedatectl"]))
    assert (auto.daemon, auto.reason) == ("none", "not_running")
