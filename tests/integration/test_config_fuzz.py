"""Bad config input: random and mutated YAML either loads or raises ConfigError naming where the
problem is, never another exception; and a running exporter keeps its config when a reload is broken.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from exporter.config import MAX_CONFIG_BYTES, Config, ConfigError, parse_config
from tests.support import poll

BASE = {
    "interval": "15s",
    "timeout": "10s",
    "targets": [
        {"name": "contoh", "url": "http://lpse.contoh.example/eproc4", "interval": "30s", "timeout": "20s",
         "method": "GET", "valid_status_codes": [200, 302], "fail_if_body_matches": ["(?i)terjadi error"],
         "fail_if_body_not_matches": ["SPSE"], "headers": {"Accept-Language": "id"}, "ip_protocol": "ip4",
         "ip_protocol_fallback": True, "max_redirects": 3, "body_size_limit": "512KiB",
         "tls": {"insecure_skip_verify": False, "server_name": "lpse.contoh.example"},
         "spse": {"timezone": "WITA", "data_max_age": "2d", "app_check": True, "app_interval": "5m"}},
        {"name": "lain", "url": "http://lpse.lain.example:8080/eproc4"},
    ],
    "clock": {"servers": ["ntp.contoh.example", "[2001:db8::1]:123"], "interval": "1m", "timeout": "5s"},
    "upstream": {
        "gateway": ["tcp://192.0.2.1:53"],
        "national": ["dns://192.0.2.53/lpse.contoh.example?type=AAAA", "ntp://ntp.contoh.example"],
        "global": ["http://example.com/generate_204", "http://example.org:8080/"],
    },
}
KEYS = ["interval", "timeout", "targets", "clock", "upstream", "name", "url", "method", "valid_status_codes",
        "fail_if_body_matches", "fail_if_body_not_matches", "headers", "ip_protocol", "ip_protocol_fallback",
        "max_redirects", "body_size_limit", "tls", "insecure_skip_verify", "ca_file", "server_name", "servers",
        "gateway", "national", "global", "spse", "timezone", "data_max_age", "app_check", "app_interval"]
# Values a config author (or a typo) could plausibly write, to reach past the first type checks.
WORDS = ["15s", "0s", "500ms", "1m30s", "99999999999999999999y", "-1s", "1MiB", "0B", "99999999999GiB", "GET",
         "POST", "ip6", "http://[::1", "http://[v1.x]/", "https://lpse.contoh.example:99999/", "http://:80/",
         "tcp://host", "tcp://[::1]:0", "dns://1.1.1.1/", "dns://1.1.1.1/x?type=BOGUS&y=1", "icmp://1.1.1.1",
         "ntp://[::1", "ftp://x/", "a{99999999999}", "(" * 1200 + ")" * 1200, "[z-a]", "\\", "(?P<a>x)(?P<a>y)",
         "x\0y", "\udcff", "lpse.contoh.example", "", " ", "\n", "WITA", "Asia/Makassar", "Asia", "../../etc/passwd",
         "Z" * 300]
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(WORDS) | st.text(max_size=30))
documents = st.recursive(
    scalars,
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS) | scalars, children, max_size=5)),
    max_leaves=25)
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The document itself, or a line and column of it (a YAML error, before there are keys to name).
WHOLE_DOCUMENT = re.compile(r"^(is empty|must be a mapping|key .* must be a non-empty string|configures nothing|"
                            r"(line \d+, column \d+: )?invalid YAML)")


def load(text: str) -> Config | ConfigError:
    """Parse `text`; any exception but ConfigError fails the test (that is the property)."""
    try:
        return parse_config(text, "fuzz.yml")
    except ConfigError as err:
        assert str(err).startswith("fuzz.yml: ") and err.message
        return err


def assert_names_where(err: ConfigError, text: str) -> None:
    """The error names a key path inside the document, a line and column, or the document itself."""
    if not err.path:
        assert WHOLE_DOCUMENT.match(err.message), err
    elif err.message.startswith("duplicate key"):  # anywhere, even inside a top-level list
        assert re.match(r"duplicate key at line \d+ \(first at line \d+\)", err.message), err
    else:
        top = yaml.safe_load(text)
        assert isinstance(top, dict), err
        assert any(err.path == str(key) or err.path.startswith((f"{key}.", f"{key}[")) for key in top), err


def paths(node, prefix=()):
    """Every (path tuple) inside a parsed document, the document itself included."""
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from paths(child, (*prefix, key))


def mutate(document, path: tuple, action: str, value):
    """A copy of `document` with the node at `path` replaced, deleted, wrapped or given an extra key."""
    document = yaml.safe_load(yaml.safe_dump(document))
    if not path:
        return value
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "wrap":
        parent[key] = [parent[key]]
    elif action == "extra" and isinstance(parent[key], dict):
        parent[key]["unexpected"] = value
    else:
        parent[key] = value
    return document


def test_base_config_loads():
    assert isinstance(load(yaml.safe_dump(BASE)), Config)


@FUZZ
@given(st.text(max_size=300))
@example("targets: [{name: a, url: 'http://[::1/'}]")
@example("targets: [{name: a, url: 'http://x/', fail_if_body_matches: ['a{99999999999}']}]")
@example("- &a [*a]")
@example("[" * 5000)
@example("- {a: 1, a: 2}")
@example("interval: 1s\ntargets: []\ninterval: 2s")
def test_random_text(text):
    result = load(text)
    if isinstance(result, ConfigError):
        assert_names_where(result, text)


@FUZZ
@given(documents)
def test_random_documents(document):
    text = yaml.safe_dump(document, allow_unicode=True)
    result = load(text)
    if isinstance(result, ConfigError):
        assert_names_where(result, text)


@FUZZ
@given(st.data())
def test_mutated_config_names_the_mutated_part(data):
    path = data.draw(st.sampled_from(list(paths(BASE))), label="path")
    action = data.draw(st.sampled_from(["replace", "delete", "wrap", "extra"]), label="action")
    document = mutate(BASE, path, action, data.draw(documents, label="value"))
    text = yaml.safe_dump(document, allow_unicode=True)
    result = load(text)
    if isinstance(result, ConfigError):
        assert_names_where(result, text)
        # A change below a top-level key is blamed on that key; interval and timeout are inherited
        # by every probe, so theirs may surface wherever an inherited value conflicts.
        if len(path) > 1 and path[0] not in ("interval", "timeout") and not WHOLE_DOCUMENT.match(result.message):
            assert re.match(rf"{path[0]}\b", result.path), (path, action, result)


@FUZZ
@given(st.data())
def test_mutated_yaml_text(data):
    text = yaml.safe_dump(BASE)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        cut = data.draw(st.integers(0, 8), label="cut")
        text = text[:at] + data.draw(st.text(max_size=8), label="insert") + text[at + cut:]
    result = load(text)
    if isinstance(result, ConfigError):
        assert_names_where(result, text)


GOOD = {"interval": "1s", "timeout": "800ms", "targets": [{"name": "contoh", "url": "{url}"}]}
# How a reload can be broken: (file content, None to delete it, or a function that makes the path; words the
# one-line error must carry). The tests run as root, so a file it may not read is a directory or a loop.
BROKEN_FILES = {
    "yaml syntax": (b"targets: [\n  - name: contoh\n", "invalid YAML"),
    "wrong type": (b"targets: contoh\n", "targets: must be a list"),
    "unknown key": (b"targets: []\nclock: {servers: [x], intervall: 1s}\n", "clock.intervall: unknown key"),
    "deep bad value": (b"upstream: {global: ['tcp://192.0.2.1:53', 'icmp://192.0.2.1']}\n", "upstream.global[1]"),
    "not utf-8": (b"targets: [{name: \xff\xfe}]\n", "cannot read"),
    "binary": (bytes(range(256)) * 64, "cannot read: 'utf-8' codec can't decode"),
    "control characters": (b"targets: [{name: a\x00b, url: 'http://a/'}]\n", "unacceptable character #x0000"),
    "nested too deep": (b"targets: " + b"[" * 5000 + b"]" * 5000 + b"\n", "invalid YAML: nested deeper than 32 levels"),
    "empty": (b"", "is empty"),
    "deleted": (None, "cannot read"),
    "directory": (Path.mkdir, "Is a directory"),
    "symlink loop": (lambda path: path.symlink_to(path.name), "Too many levels of symbolic links"),
    # Before, a FIFO nobody writes to held the event loop for good and /dev/zero was read until memory ran out.
    "fifo": (os.mkfifo, "it is a FIFO, device or socket, not a regular file"),
    "endless device": (lambda path: path.symlink_to("/dev/zero"), "it is a FIFO, device or socket"),
    "over 1 MiB": (b"# " + b"x" * (MAX_CONFIG_BYTES + 1) + b"\n", "larger than 1 MiB"),
}


def replace(path: Path, content) -> None:
    """Put `content` (see BROKEN_FILES) at `path`, whatever is there now."""
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    else:
        path.unlink(missing_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        content(path)


def test_reload_with_a_broken_file_keeps_the_old_config(start_exporter, spse):
    exporter = start_exporter(yaml.safe_dump(GOOD).replace("{url}", spse.url), ["--web.enable-lifecycle"])
    path = exporter.config_path
    good = path.read_bytes()
    for i, (name, (content, words)) in enumerate(BROKEN_FILES.items()):
        replace(path, content)
        if i % 2:  # alternate the two ways to ask for a reload
            status, body = exporter.reload()
            assert status == 500 and words in body.decode() and body.count(b"\n") == 1, (name, status, body)
        else:
            failed_before = exporter.logs().count("config reload failed")
            exporter.signal(signal.SIGHUP)
            poll(lambda: exporter.logs().count("config reload failed") > failed_before, 10, what=f"{name} rejected")
            assert words in exporter.logs().rsplit("config reload failed", 1)[1].split("\n")[0], name
        assert exporter.scrape().get_value("spse_config_last_reload_successful") == 0, name
    # The old config never stopped: its target is still probed after the last broken reload.
    rejected_at = time.time()
    poll(lambda: exporter.scrape().get_value("spse_last_probe_timestamp_seconds", probe="http", name="contoh")
         > rejected_at, 10, what="the old target probed after the broken reloads")
    assert exporter.proc.poll() is None
    replace(path, good)
    assert exporter.reload()[0] == 200
    assert exporter.scrape().get_value("spse_config_last_reload_successful") == 1
