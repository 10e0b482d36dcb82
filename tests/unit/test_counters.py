"""Counters per owner: a reload keeps what stays, adds new reasons at 0, and forgets a removed owner's parts."""

from __future__ import annotations

from exporter.counters import CounterStore, Rounds
from exporter.probes.key import ProbeKey

GROUP, TARGET = ProbeKey("upstream", "national"), ProbeKey("http", "lpse-a")


def test_a_removed_owner_loses_every_parts_counters_and_a_kept_one_counts_on():
    store = CounterStore()
    store.of(GROUP, ("timeout",), part="tcp://192.0.2.1:443").fail("timeout")
    store.of(GROUP, ("timeout",), part="dns://192.0.2.53/x").fail("timeout")
    store.of(TARGET, ("timeout",)).fail("timeout")
    store.retain({TARGET})
    assert store.of(GROUP, ("timeout",), part="tcp://192.0.2.1:443").failures == {"timeout": 0}
    assert store.of(TARGET, ("timeout",)).failures == {"timeout": 1}


def test_reasons_a_reload_adds_start_at_0_and_a_success_counts_nothing():
    store = CounterStore()
    counters = store.of(TARGET, ("timeout",))
    counters.fail("")
    counters.fail("timeout")
    assert store.of(TARGET, ("timeout", "spse_error")).failures == {"timeout": 1, "spse_error": 0}
    assert counters.failure_samples("f", {"target": "a"}) == 'f{target="a",reason="timeout"} 1\nf{target="a",reason="spse_error"} 0\n'


def test_rounds_register_once_and_count_on_through_a_reload():
    rounds = Rounds()
    assert rounds.register(TARGET) and rounds.complete(TARGET) == 1
    assert not rounds.register(TARGET) and rounds.complete(TARGET) == 2
    rounds.retain(set())
    assert rounds.register(TARGET) and rounds.complete(TARGET) == 1

