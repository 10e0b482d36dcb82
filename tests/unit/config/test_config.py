"""Config loading: the example loads, every kind of mistake is named by its key path, the CLI exits 2."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
import yaml

from exporter.config import EXAMPLE_CONFIG, ConfigError, load_config, parse_config, parse_duration
from tests.support import ROOT, without_language

BASE = {
    "interval": "15s",
    "timeout": "10s",
    "targets": [{"name": "site", "url": "https://lpse.contoh.example/eproc4"}],
    "clock": {"servers": ["ntp.contoh.example", "time.example.org:123"]},
    "upstream": {"global": ["tcp://192.0.2.1:53"]},
}


def with_changes(**changes) -> str:
    config = yaml.safe_load(yaml.safe_dump(BASE))
    config.update(changes)
    return yaml.safe_dump(config)


def error_for(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yml")
    return info.value


def test_example_config_loads_with_the_documented_shape():
    config = load_config(EXAMPLE_CONFIG)
    assert [t.name for t in config.targets] == ["kutaibarat"]
    # SPSE-aware: SPSE's error page needs no regex; the site is in WITA (issue 15).
    spse = config.targets[0].spse
    assert (spse.timezone, spse.data_max_age, spse.app_check, spse.app_interval) == ("WITA", 8 * 3600, True, 300)
    # SPSE's own sources are the global pools a typical LPSE host uses; the national ones are references.
    assert [(s.server, s.role, s.via) for s in config.clock.sources] == [
        ("2.centos.pool.ntp.org", "spse", "global"), ("time.google.com", "spse", "global"),
        ("0.id.pool.ntp.org", "reference", ""), ("1.id.pool.ntp.org", "reference", "")]
    assert config.clock.servers == ("2.centos.pool.ntp.org", "time.google.com") and not config.clock.host_kernel
    assert [g.name for g in config.upstream] == ["gateway", "national", "global"]
    assert config.interval == 15 and config.timeout == 10


def test_issue_example_shape_loads():
    text = """
interval: 15s
timeout: 10s
targets:
  - name: kutaibarat
    url: https://lpse.contoh.example/eproc4
    valid_status_codes: [200]
    fail_if_body_matches: ["terjadi error pada aplikasi SPSE"]
    fail_if_body_not_matches: []
clock:
  servers: ["ntp.contoh.example", "id.pool.ntp.org", "time.google.com:123"]
upstream:
  gateway:  ["tcp://192.168.1.1:53"]
  national: ["tcp://inaproc.id:443", "dns://1.1.1.1/lkpp.go.id"]
  global:   ["tcp://1.1.1.1:53", "ntp://time.google.com", "https://www.google.com/generate_204"]
"""
    config = parse_config(text)
    kinds = [c.kind for g in config.upstream for c in g.checks]
    assert kinds == ["tcp", "tcp", "dns", "tcp", "ntp", "https"]
    dns_check = config.upstream[1].checks[1]
    assert (dns_check.endpoint.host, dns_check.endpoint.port, dns_check.query_name) == ("1.1.1.1", 53, "lkpp.go.id")
    assert [s.endpoint.port for s in config.clock.sources] == [123, 123, 123]
    assert {s.role for s in config.clock.sources} == {"spse"}


def test_clock_says_which_sources_are_spse_own_and_which_links_carry_them():
    config = parse_config(with_changes(clock={
        "servers": [{"host": "time.google.com", "via": "global"}, "ntp.contoh.example:1123"],
        "reference_servers": ["id.pool.ntp.org"], "host_kernel": True}))
    assert [(s.server, s.endpoint.port, s.role, s.via) for s in config.clock.sources] == [
        ("time.google.com", 123, "spse", "global"), ("ntp.contoh.example:1123", 1123, "spse", ""),
        ("id.pool.ntp.org", 123, "reference", "")]
    assert config.clock.servers == ("time.google.com", "ntp.contoh.example:1123") and config.clock.host_kernel


def test_a_time_source_may_be_a_bare_ipv6_address():
    """As chrony's `server 2001:db8::123` takes it; the brackets are only needed with a port."""
    config = parse_config(with_changes(clock={"servers": ["2001:db8::123", "[2001:db8::124]:1123"]}))
    assert [(s.endpoint.host, s.endpoint.port) for s in config.clock.sources] == [
        ("2001:db8::123", 123), ("2001:db8::124", 1123)]


@pytest.mark.parametrize("text, path, words", [
    (with_changes(targets=[{"name": "a", "url": "https://x/"}, {"name": "b", "url": "https://y/"},
                           {"name": "c", "url": "ftp://z/"}]), "targets[2].url", "scheme must be http or https"),
    (with_changes(intervall="15s"), "intervall", "unknown key"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "valid_status_code": [200]}]),
     "targets[0].valid_status_code", "unknown key"),
    (with_changes(interval="15"), "interval", "not a duration"),
    (with_changes(interval=15), "interval", "duration string"),
    (with_changes(timeout="20s"), "timeout", "must be below interval"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "timeout": "30s"}]), "targets[0].timeout", "below interval"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "interval": "5s"}]), "targets[0].interval",
     "must be above the timeout set above it (10s)"),
    (with_changes(targets=[{"url": "https://x/"}]), "targets[0].name", "is required"),
    (with_changes(targets=[{"name": "a b", "url": "https://x/"}]), "targets[0].name", "letters, digits"),
    (with_changes(targets=[{"name": "a", "url": "https://x/"}, {"name": "a", "url": "https://y/"}]),
     "targets[1].name", "already used by targets[0]"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "fail_if_body_matches": ["(unclosed"]}]),
     "targets[0].fail_if_body_matches[0]", "invalid regular expression"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "valid_status_codes": [200, 999]}]),
     "targets[0].valid_status_codes[1]", "from 100 to 599"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "ip_protocol": "ipv4"}]),
     "targets[0].ip_protocol", "one of ip4, ip6"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "body_size_limit": "lots"}]),
     "targets[0].body_size_limit", "must be a size"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "tls": {"ca_file": "/nonexistent/ca.pem"}}]),
     "targets[0].tls.ca_file", "does not exist"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "tls": {"server_name": "lpse..example"}}]),
     "targets[0].tls.server_name", "must be a host name"),
    (with_changes(targets=[{"name": "a", "url": "https://x/", "tls": {"server_name": "lpse\x00.example"}}]),
     "targets[0].tls.server_name", "must be a host name"),
    (with_changes(clock={"servers": []}), "clock.servers", "at least one"),
    (with_changes(clock={"servers": ["ntp.example:99999"]}), "clock.servers[0]", "port"),
    (with_changes(clock={"reference_servers": ["ntp.example"]}), "clock.servers", "the SPSE server itself uses"),
    (with_changes(clock={"servers": [{"host": "a", "via": "globel"}]}), "clock.servers[0].via",
     "one of national, global"),
    (with_changes(clock={"servers": [{"via": "global"}]}), "clock.servers[0].host", "is required"),
    (with_changes(clock={"servers": [{"host": "a", "vía": "global"}]}), "clock.servers[0].vía", "unknown key"),
    (with_changes(clock={"servers": ["a"], "reference_servers": [{"host": "b", "via": "global"}]}),
     "clock.reference_servers[0]", "host[:port]"),
    (with_changes(clock={"servers": ["a"], "reference_servers": ["a"]}), "clock.reference_servers[0]",
     "listed twice"),
    (with_changes(clock={"servers": ["a"], "host_kernel": "yes"}), "clock.host_kernel", "true or false"),
    (with_changes(upstream={"global": ["icmp://192.0.2.1"]}), "upstream.global[0]", "icmp checks are not supported"),
    (with_changes(upstream={"global": ["tcp://192.0.2.1"]}), "upstream.global[0]", "need a port"),
    (with_changes(upstream={"global": ["dns://192.0.2.1"]}), "upstream.global[0]", "need a name"),
    (with_changes(upstream={"global": ["dns://192.0.2.1/x?type=BOGUS"]}), "upstream.global[0]", "type must be"),
    (with_changes(upstream={"global": ["dns://192.0.2.1/lpse..example"]}), "upstream.global[0]", "not a DNS name"),
    (with_changes(upstream={"global": [f"dns://192.0.2.1/{'x' * 64}.example"]}), "upstream.global[0]", "not a DNS name"),
    (with_changes(upstream={"global": ["smtp://192.0.2.1:25"]}), "upstream.global[0]", "scheme must be one of"),
    (with_changes(upstream={"global": []}), "upstream.global", "at least one"),
    # Credentials in a URL are never sent, and the URL shows in /probes, logs and (checks) the check label.
    (with_changes(targets=[{"name": "a", "url": "https://admin:rahasia@x/eproc4"}]), "targets[0].url",
     "user name or password"),
    (with_changes(upstream={"global": ["https://admin:rahasia@192.0.2.1/"]}), "upstream.global[0]",
     "user name or password"),
    (with_changes(upstream={"global": ["tcp://admin@192.0.2.1:53"]}), "upstream.global[0]", "user name or password"),
    (with_changes(targets=[{"name": "a", "url": "https://x/eproc4\x01"}]), "targets[0].url", "non-printable"),
    (with_changes(upstream={"global": ["https://192.0.2.1/\x01"]}), "upstream.global[0]", "non-printable"),
    (with_changes(upstream=["tcp://192.0.2.1:53"]), "upstream", "mapping of group name"),
    (with_changes(upstream={"nasional": ["tcp://192.0.2.1:53"]}), "upstream.nasional",
     "unknown group 'nasional': did you mean 'national'?"),
    (with_changes(upstream={"globel": ["tcp://192.0.2.1:53"]}), "upstream.globel",
     "unknown group 'globel': did you mean 'global'?"),
    (with_changes(upstream={"internasional": ["tcp://192.0.2.1:53"]}), "upstream.internasional", "did you mean 'global'?"),
    (with_changes(upstream={"datacenter": ["tcp://192.0.2.1:53"]}), "upstream.datacenter", "custom_<name>"),
    (with_changes(upstream={"custom_": ["tcp://192.0.2.1:53"]}), "upstream.custom_", "unknown group"),
    ("interval: 15s\ntimeout: 5s\ninterval: 30s\n", "interval", "duplicate key at line 3 (first at line 1)"),
    ("targets:\n  - name: a\n    url: http://x/\n    name: b\n", "targets[0].name",
     "duplicate key at line 4 (first at line 2)"),
    ("targets:\n  - name: a\n    url: http://x/\n    headers:\n      X-A: '1'\n      X-A: '2'\n",
     "targets[0].headers.X-A", "duplicate key at line 6 (first at line 5)"),
    ("upstream:\n  global: ['tcp://192.0.2.1:53']\n  global: ['tcp://192.0.2.2:53']\n", "upstream.global",
     "duplicate key at line 3"),
    ("targets: [", "", "line 1, column 11: invalid YAML"),
    ("- just\n- a list\n", "", "must be a mapping"),
    ("", "", "is empty"),
    ("interval: 15s\n", "", "configures nothing to probe"),
    (with_changes(clock={"servers": ["a", {"host": "b", "via": "national"}]}), "clock.servers[1].via",
     "'national' is no upstream group of this config: add upstream.national"),
    (with_changes(holidays="2026-12-25"), "holidays", "must be a list of dates"),
    (with_changes(holidays=["2026-12-25", "2026-13-01"]), "holidays[1]", "'2026-13-01' is not a date YYYY-MM-DD"),
    ("holidays: [2026-02-30]\n" + with_changes(), "holidays[0]", "'2026-02-30' is not a date"),
    (with_changes(holidays=["2026-12-26/2026-12-24"]), "holidays[0]", "ends before it starts"),
    (with_changes(holidays=["2026-12-24/"]), "holidays[0]", "or a range FIRST/LAST"),
    (with_changes(holidays=[20261225]), "holidays[0]", "got int"),
    (with_changes(host_time={"daemon": "ntpd"}), "host_time.daemon", "auto"),
    (with_changes(host_time={"chronyc": []}), "host_time.chronyc", "needs the chronyc command"),
    (with_changes(host_time={"ntpq": []}), "host_time.ntpq", "needs the ntpq command"),
    (with_changes(host_time={"chronyc": "chronyc -h 127.0.0.1"}), "host_time.chronyc", "must be a list"),
    (with_changes(host_time={"national_networks": ["103.0.0.0/33"]}), "host_time.national_networks[0]",
     "must be a network"),
    (with_changes(host_time={"socket": "/run/chrony/chronyd.sock"}), "host_time.socket", "unknown key"),
    (with_changes(host_time=["chrony"]), "host_time", "must be a mapping"),
    (with_changes(host_time={"interval": "5s", "timeout": "5s"}), "host_time.timeout", "must be below interval"),
])
def test_errors_name_the_key_path(text, path, words):
    err = error_for(text)
    assert err.path.startswith(path), str(err)
    assert words in err.message, str(err)
    assert str(err).startswith("test.yml: "), str(err)
    # The operator's language: the same file and key path, the words from the Indonesian table.
    indonesian = err.render("id")
    assert indonesian.startswith(f"test.yml: {err.path}"), indonesian
    assert indonesian != str(err), indonesian


def test_a_ca_file_without_certificates_is_a_config_error(tmp_path):
    """Not an SSLError from deep in the loader: that crashed the start and left a reload unreported."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not a certificate\n")
    err = error_for(with_changes(targets=[{"name": "a", "url": "https://x/", "tls": {"ca_file": str(ca_file)}}]))
    assert err.path == "targets[0].tls.ca_file" and "cannot load" in err.message, str(err)


@pytest.mark.parametrize("char", ["\n", "\r", "\x00", "\x1b", "\x7f"])
def test_header_values_with_control_characters_are_errors(char):
    err = error_for(with_changes(targets=[{"name": "a", "url": "https://x/", "headers": {"X-Bad": f"a{char}b"}}]))
    assert err.path == "targets[0].headers.X-Bad" and f"control character {char!r}" in err.message, str(err)


def test_yaml_merge_keys_may_still_override():
    """`<<` merges are meant to be overridden; only keys written twice are errors. Tabs are valid in headers."""
    config = parse_config("""
targets:
  - &site {name: a, url: "http://x/", headers: {X-A: "1\\tv"}}
  - <<: *site
    name: b
""")
    assert [(t.name, t.headers) for t in config.targets] == [("a", (("X-A", "1\tv"),)), ("b", (("X-A", "1\tv"),))]


def test_holidays_are_dates_and_inclusive_ranges_for_every_spse_target():
    """Unquoted dates as YAML writes them, and FIRST/LAST ranges with both days included (cuti bersama)."""
    config = parse_config("holidays:\n  - 2026-12-25\n  - 2027-03-19/2027-03-24\n" + with_changes(targets=[
        {"name": "a", "url": "https://a/", "spse": True}, {"name": "b", "url": "https://b/", "spse": {"timezone": "WITA"}},
        {"name": "c", "url": "https://c/"}]))
    a, b, c = config.targets
    assert a.spse.holidays == b.spse.holidays and c.spse is None
    holiday = a.spse.is_holiday
    assert holiday(date(2026, 12, 25)) and not holiday(date(2026, 12, 24)) and not holiday(date(2026, 12, 26))
    assert holiday(date(2027, 3, 19)) and holiday(date(2027, 3, 24)) and not holiday(date(2027, 3, 25))
    parse_config("holidays:  # every entry commented out: none\n" + with_changes())


def test_custom_upstream_groups_need_the_prefix():
    """Groups beyond the three the alert rules read are allowed, under a name no typo produces."""
    config = parse_config(with_changes(upstream={"gateway": ["tcp://192.0.2.254:53"], "custom_datacenter": ["tcp://192.0.2.9:22"]}))
    assert sorted(g.name for g in config.upstream) == ["custom_datacenter", "gateway"]


def test_defaults_and_overrides():
    config = parse_config(with_changes(targets=[
        {"name": "a", "url": "http://x/"},
        {"name": "b", "url": "https://y/", "interval": "1m", "timeout": "30s", "ip_protocol": "ip6",
         "ip_protocol_fallback": False, "max_redirects": 0, "body_size_limit": "64KiB", "method": "HEAD"},
    ]))
    a, b = config.targets
    assert (a.interval, a.timeout, a.ip_protocol, a.ip_protocol_fallback) == (15, 10, "ip4", True)
    assert a.status_is_valid(204) and not a.status_is_valid(301)
    assert (b.interval, b.timeout, b.ip_protocol, b.max_redirects, b.body_size_limit) == (60, 30, "ip6", 0, 65536)
    assert b.method == "HEAD"
    # An http:// target has a TLS context too, for its redirects to https://; equal settings share one.
    assert a.ssl_context is not None and a.ssl_context is b.ssl_context


def test_timeout_defaults_like_prometheus():
    """Without a timeout anywhere: 10s, or 80% of a shorter interval."""
    config = parse_config(yaml.safe_dump({"interval": "5s", "targets": [
        {"name": "a", "url": "http://x/"}, {"name": "b", "url": "http://y/", "interval": "1m"}]}))
    assert (config.timeout, config.targets[0].timeout, config.targets[1].timeout) == (4, 4, 10)


@pytest.mark.parametrize("text, seconds", [("500ms", 0.5), ("15s", 15), ("1m30s", 90), ("2h", 7200), ("1d", 86400)])
def test_prometheus_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "1.5s", "s", "0s", "15 s", "-1s", "367d", "99999999999999999999999999y"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_huge_interval_is_an_error_naming_its_key():
    with pytest.raises(ConfigError, match=r"interval.*longer than a year"):
        parse_config(yaml.safe_dump({"interval": "99999999999999999999999999y", "targets": [{"name": "a", "url": "http://x/"}]}))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporter", *args], cwd=ROOT, capture_output=True, text=True, timeout=30,
                          env=without_language())


def test_check_config_prints_summary_and_exits_0():
    result = run_cli(f"--config.file={EXAMPLE_CONFIG}", "--check-config")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{EXAMPLE_CONFIG}: valid: 1 target SPSE, 2 sumber waktu SPSE dan 2 sumber waktu "
                                    "pembanding, 3 grup jaringan dengan 8 pemeriksaan"), result.stdout
    assert result.stdout.rstrip().endswith("interval 15 detik, batas waktu 10 detik"), result.stdout
    result = run_cli(f"--config.file={EXAMPLE_CONFIG}", "--check-config", "--lang=en")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{EXAMPLE_CONFIG}: OK: 1 SPSE target(s), 2 SPSE time source(s) + 2 reference(s), "
                                    "3 upstream group(s)"), result.stdout


def test_bad_config_exits_2_with_key_path(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(with_changes(targets=[{"name": "a", "url": "gopher://x/"}]))
    for args in (["--check-config"], []):
        result = run_cli(f"--config.file={path}", *args)
        assert result.returncode == 2
        assert f"konfigurasi tidak valid: {path}: targets[0].url: skema harus http atau https" in result.stderr
        assert "Perbaiki kesalahan yang disebut di atas" in result.stderr
        result = run_cli(f"--config.file={path}", "--lang=en", *args)
        assert result.returncode == 2
        assert f"invalid config: {path}: targets[0].url: scheme must be http or https" in result.stderr
        assert "Fix the error named above" in result.stderr


def test_a_directory_where_the_config_should_be_says_how_it_got_there(tmp_path):
    """docker compose creates a directory on the host when the file SPSE_CONFIG_FILE names is missing."""
    (tmp_path / "spse.yml").mkdir()
    result = run_cli(f"--config.file={tmp_path / 'spse.yml'}", "--check-config")
    assert result.returncode == 2
    assert "Is a directory" in result.stderr and "salin konfigurasi Anda ke path tersebut (SPSE_CONFIG_FILE)" in \
        result.stderr
    result = run_cli(f"--config.file={tmp_path / 'spse.yml'}", "--check-config", "--lang=en")
    assert "copy your config to that path (SPSE_CONFIG_FILE)" in result.stderr


def test_missing_config_file_exits_2(tmp_path):
    result = run_cli(f"--config.file={tmp_path / 'nope.yml'}", "--check-config")
    assert result.returncode == 2 and "nope.yml tidak ditemukan, sehingga tidak ada yang dapat diperiksa" in result.stderr
    result = run_cli(f"--config.file={tmp_path / 'nope.yml'}", "--check-config", "--lang=en")
    assert result.returncode == 2 and "nope.yml does not exist, so there is nothing to probe" in result.stderr


def test_help_lists_the_commands():
    """`spse-exporter --help` is where an operator looks for the report and notify-test commands."""
    from exporter.main import SUBCOMMANDS
    result = run_cli("--help")
    assert result.returncode == 0
    for command in SUBCOMMANDS:
        assert f"\n  {command} " in result.stdout, result.stdout
        assert run_cli(command, "--help").returncode == 0


def test_version_flag():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("spse-exporter ")


def test_host_time_groups_sources_by_what_the_config_says_of_them():
    config = parse_config(yaml.safe_dump({
        "clock": {"servers": [{"host": "ntp.global.example", "via": "global"}, "plain.example"]},
        "upstream": {"global": ["tcp://192.0.2.1:53"], "gateway": ["ntp://10.0.0.1"],
                     "custom_dc": ["tcp://198.51.100.1:80"]},
        "host_time": {"national_networks": ["103.10.0.0/16"]}}))
    host_time = config.host_time
    assert (host_time.daemon, host_time.chronyc, host_time.ntpq) == ("auto", ("chronyc",), ("ntpq",))
    assert (host_time.interval, host_time.timeout) == (15, 10)
    assert [str(n) for n in host_time.national_networks] == ["103.10.0.0/16"]
    # A source without via, and a custom group's check, say nothing of the link they need.
    assert host_time.known_hosts == (("ntp.global.example", "global"), ("10.0.0.1", "gateway"), ("192.0.2.1", "global"))


def test_host_time_alone_is_something_to_probe_and_daemon_none_turns_it_off():
    assert parse_config("host_time:\n").host_time.daemon == "auto"
    assert parse_config(with_changes(host_time={"daemon": "none"})).host_time is None
    assert parse_config(with_changes()).host_time is None  # opt-in: the exporter often runs away from the SPSE host
    assert "configures nothing to probe" in error_for("host_time: {daemon: none}\n").message
