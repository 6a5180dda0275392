"""Direct followers of shared subscriptions: eager sends, slow clients, failures."""

from __future__ import annotations

import asyncio

import pytest

from prow_graphql.schema.sharing import DirectFollower, run_eagerly


async def test_a_send_that_never_suspends_needs_no_task() -> None:
    sent: list[int] = []

    async def deliver(item: int) -> None:
        sent.append(item)

    assert run_eagerly(deliver(1)) is None
    assert sent == [1]


async def test_a_slow_client_keeps_order_and_gets_the_final_result() -> None:
    gate = asyncio.Event()
    sent: list[str] = []

    async def deliver(item: str) -> None:
        if item == "first":
            await gate.wait()  # the client's socket is paused
        sent.append(item)

    follower = DirectFollower(deliver, replay=True)
    for item in ("first", "second", "third", "final"):
        follower.push(item)
    follower.close()
    assert sent == [] and not follower.done.done()
    gate.set()
    await asyncio.wait_for(follower.done, 5)
    # A state stream keeps only the newest queued result: intermediate ones may be skipped.
    assert sent == ["first", "final"]


async def test_an_event_stream_keeps_every_queued_event() -> None:
    gate = asyncio.Event()
    sent: list[int] = []

    async def deliver(item: int) -> None:
        if item == 0:
            await gate.wait()
        sent.append(item)

    follower = DirectFollower(deliver, replay=False)
    for item in range(5):
        follower.push(item)
    follower.close()
    gate.set()
    await asyncio.wait_for(follower.done, 5)
    assert sent == [0, 1, 2, 3, 4]


async def test_a_failed_send_ends_the_follower_with_its_error() -> None:
    async def deliver(item: int) -> None:
        raise ConnectionResetError("gone")

    follower = DirectFollower(deliver, replay=True)
    follower.push(1)
    follower.push(2)  # ignored: the follower already failed
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(follower.done, 5)


async def test_cancelling_a_pending_send_closes_its_coroutine() -> None:
    finished = []

    async def deliver(item: int) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append(item)

    task = run_eagerly(deliver(7))
    assert task is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == [7]
