"""Small stand-ins for asyncio.Queue and asyncio.Event, for objects that live once per connection.

asyncio.Queue makes three deques and an Event, and asyncio.Event one deque; CPython allocates a
deque's first 64-slot block up front (760 bytes each). A WebSocket connection's receive queue
rarely holds more than one message and has one consumer, and its writable flag one waiter at a
time, so a list and futures made on demand do the same job.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class ReceiveQueue(Generic[T]):
    """An unbounded FIFO with `put_nowait`, `get` and `empty` (asyncio.Queue's, as uvicorn uses
    them); any number of consumers may wait, each `put_nowait` wakes one."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._wake_one()

    async def get(self) -> T:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                # Cancelled after being woken: pass the wake-up on, as asyncio.Queue does.
                elif self._items:
                    self._wake_one()
                raise
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return


class Flag:
    """asyncio.Event's `set`, `clear`, `is_set` and `wait`, without the up-front deque."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True
