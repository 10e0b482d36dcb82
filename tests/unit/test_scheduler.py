"""The scheduler's start slots: rounds due within one slot start in one pass of the loop, no earlier than due."""

from __future__ import annotations

import asyncio
import math

from exporter.scheduler import START_SLOT, StartSlots

INTERVAL = 15.0


async def _wake_order(offsets: dict[str, float]) -> tuple[list[str], dict[str, float], float]:
    """Each name waits for a slot at `boundary + offset`; the first to wake queues a marker behind it.
    Returns the order of waking (with the marker), when each woke, and the boundary."""
    loop = asyncio.get_running_loop()
    slots, order, woke = StartSlots(), [], {}
    boundary = math.ceil(loop.time() / START_SLOT + 2) * START_SLOT  # a slot boundary two slots ahead

    async def job(name: str) -> None:
        await slots.wait(boundary + offsets[name], INTERVAL)
        woke[name] = loop.time()
        if not order:
            loop.call_soon(order.append, "marker")  # runs at the next pass: after everyone woken in this one
        order.append(name)

    await asyncio.wait_for(asyncio.gather(*(job(name) for name in offsets)), 5)
    await asyncio.sleep(0)  # let the marker run if nobody else did
    return order, woke, boundary


def test_rounds_due_within_one_slot_start_together_at_its_end():
    order, woke, boundary = asyncio.run(_wake_order({"a": 0.001, "b": START_SLOT / 2, "c": START_SLOT - 0.001}))
    assert order[:3] == ["a", "b", "c"] and order[3] == "marker", order
    assert all(boundary + START_SLOT - 0.002 <= at for at in woke.values()), (boundary, woke)  # never early


def test_rounds_due_in_different_slots_start_apart():
    """The positive control: a round due just past a slot's end waits for the next slot."""
    order, woke, boundary = asyncio.run(_wake_order({"a": 0.001, "b": START_SLOT + 0.001}))
    assert order == ["a", "marker", "b"], order
    assert woke["b"] - woke["a"] >= START_SLOT - 0.002, woke


def test_a_round_due_on_a_boundary_starts_at_it_after_intervals_add_up():
    """Fifteen-second intervals summed in floating point land a hair off the boundary; the round stays on it."""
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        boundary = math.ceil(loop.time() / START_SLOT + 2) * START_SLOT
        due = boundary - 40 * INTERVAL
        for _ in range(40):
            due += INTERVAL
        await StartSlots().wait(due, INTERVAL)
        return loop.time() - boundary

    assert -0.002 <= asyncio.run(scenario()) < START_SLOT / 2


def test_a_job_cancelled_while_waiting_leaves_the_others_in_its_slot_to_start():
    async def scenario() -> bool:
        loop = asyncio.get_running_loop()
        slots = StartSlots()
        when = loop.time() + 0.05
        leaving = asyncio.create_task(slots.wait(when, INTERVAL))
        staying = asyncio.create_task(slots.wait(when, INTERVAL))
        await asyncio.sleep(0)
        leaving.cancel()
        await asyncio.wait_for(staying, 5)
        return leaving.cancelled()

    assert asyncio.run(scenario())


def test_short_intervals_get_short_slots():
    """A slot is at most a hundredth of the interval: a 50 ms job is not held to a 100 ms grid."""
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await StartSlots().wait(began + 0.0101, 0.05)
        return loop.time() - began

    assert asyncio.run(scenario()) < 0.0101 + 0.05 / 100 + 0.02
