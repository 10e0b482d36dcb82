"""The tests mirror the code (docs/architecture.md, "Tests"): a unit test file is named after the module it
tests, so a change to one module finds its tests by name; integration and end-to-end tests sit apart."""

from __future__ import annotations

from tests.support import ROOT

TESTS = ROOT / "tests"
# Unit tests of the repository's files rather than of one module: the compose files, the docs, the example
# names, the glossary, the thresholds' one source, the words operators read.
REPOSITORY_CHECKS = {"test_compose.py", "test_docs.py", "test_example_names.py", "test_glossary.py",
                     "test_layout.py", "test_thresholds.py", "test_words.py"}


def mirrored_module_missing(test_file) -> bool:
    """True when tests/unit/<dir>/test_<name>.py names no exporter/<dir>/<name>.py nor the package <dir>."""
    relative = test_file.relative_to(TESTS / "unit")
    name = relative.name.removeprefix("test_").removesuffix(".py")
    package = ROOT / "exporter" / relative.parent
    return not ((package / f"{name}.py").is_file() or (package.name == name and (package / "__init__.py").is_file()))


def test_every_test_file_sits_in_a_tier():
    assert sorted(path.name for path in TESTS.glob("test_*.py")) == []
    assert {path.name for path in TESTS.iterdir() if path.is_dir() and path.name in ("unit", "integration", "e2e")} \
        == {"unit", "integration", "e2e"}


def test_each_unit_test_file_is_named_after_the_module_it_tests():
    unmirrored = [str(path.relative_to(TESTS)) for path in sorted((TESTS / "unit").rglob("test_*.py"))
                  if path.name not in REPOSITORY_CHECKS and mirrored_module_missing(path)]
    assert unmirrored == []


def test_a_misnamed_unit_test_is_found():
    """Positive control: a name with no module behind it, and one whose module exists."""
    assert mirrored_module_missing(TESTS / "unit" / "probes" / "test_no_such_prober.py")
    assert not mirrored_module_missing(TESTS / "unit" / "probes" / "test_http.py")
    assert not mirrored_module_missing(TESTS / "unit" / "config" / "test_config.py")
