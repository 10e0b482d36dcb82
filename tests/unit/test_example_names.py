"""Examples name reserved hosts (RFC 2606 / RFC 6761: *.example, *.test, *.invalid, example.org/.com/.net), never a
made-up name under .go.id, a real government zone: an operator who copies an example must not probe, page or mail
somebody's real site.

The rule for a host under .go.id in any file of the repository: it is a placeholder (a `<...>` label, as in
`lpse.<region>.go.id`), or one of the real national services the shipped config uses on purpose, listed below with
the reason. Anything else (lpse.example.go.id, a real LPSE such as lpse.kutaibaratkab.go.id) fails."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support import ROOT

# Real national services, named on purpose: they answer from inside Indonesia while international routes are down.
NATIONAL_SERVICES = {
    "lkpp.go.id": "LKPP, the national procurement agency: the national DNS and TCP reachability check",
    "www.lkpp.go.id": "LKPP's website, which real SPSE pages link to (the page fixtures under tests/pages/)",
}
# A host name ending in .go.id, placeholders' <...> labels included; a name that does not start with a letter,
# a digit or `<` (an @ of an e-mail address, a slash of a URL) starts after it.
GO_ID_HOST = re.compile(r"(?<![\w.<>-])[\w<>-][\w<>.-]*\.go\.id(?![\w-])", re.IGNORECASE)


def misnamed_hosts(text: str) -> list[str]:
    """The .go.id hosts in `text` that are neither a `<...>` placeholder nor a listed national service."""
    return [host for host in GO_ID_HOST.findall(text)
            if "<" not in host and host.lower() not in NATIONAL_SERVICES]


def test_the_rule_flags_made_up_and_real_site_names_and_spares_placeholders():
    """Positive control: the names this repository used to ship are caught, placeholders and the services pass."""
    assert misnamed_hosts("url: https://lpse.example.go.id/eproc4") == ["lpse.example.go.id"]
    assert misnamed_hosts("e.g. `https://lpse.kutaibaratkab.go.id/eproc4`") == ["lpse.kutaibaratkab.go.id"]
    assert misnamed_hosts("to: oncall@example.go.id, smarthost: smtp.example.go.id:587") == [
        "example.go.id", "smtp.example.go.id"]
    assert misnamed_hosts("https://watcher.example.go.id:9090/api/v1/write") == ["watcher.example.go.id"]
    assert misnamed_hosts("SPSE runs at `https://lpse.<region>.go.id/eproc4`") == []
    assert misnamed_hosts("dns://1.1.1.1/lkpp.go.id; tcp://lkpp.go.id:443") == []
    assert misnamed_hosts("server ntp.brin.go.id iburst") == ["ntp.brin.go.id"]  # never verified to exist
    assert misnamed_hosts("https://lpse.contoh.example/eproc4 ops@contoh.example") == []


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_no_file_names_a_made_up_host_under_go_id():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    texts = {name: (ROOT / name).read_bytes().decode("utf-8", "replace") for name in listed
             if name and (ROOT / name).is_file() and name != "tests/unit/test_example_names.py"}  # its controls
    assert "exporter/examples/spse.yml" in texts and "README.id.md" in texts  # the listing worked
    found = {name: hosts for name, text in texts.items() if (hosts := misnamed_hosts(text))}
    assert not found, f"use a reserved name (lpse.contoh.example) or a <placeholder>.go.id: {found}"
