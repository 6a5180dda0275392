"""Embedded stand-in for Prow's plank, for the memory backend (never for a real cluster).

Moves every `kubernetes`-agent ProwJob scheduling → triggered → pending → success/failure, writing
what plank writes: one merge patch to pending with build_id (snowflake, node 1), pod_name,
pendingTime, "Job triggered." and url; then one to the final state with completionTime. It re-reads
a job before each step and patches with a resourceVersion precondition, so jobs aborted or finished
meanwhile are left alone. The label `prow-graphql.sim/result: failure` (or `success`) on a ProwJob
forces its outcome; otherwise it fails with probability `failure_rate`. With a `SimulatedTestLog`
the pod's `test` container writes a paced log while the job is pending.

It follows the store with its own list+watch rather than the informer's fan-out: like plank it is
a separate controller, it keeps `store/` below `informer` in the layers, and it needs no cache.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prow_graphql.errors import BackendError, Conflict, Gone, ObjectNotFound
from prow_graphql.prow.objects import ProwJobRecord, ProwJobState, format_time
from prow_graphql.store.base import EventType, ProwJobObject, ProwJobStore
from prow_graphql.store.sim_log import SimulatedTestLog

logger = logging.getLogger(__name__)

LABEL_SIM_RESULT = "prow-graphql.sim/result"
"""ProwJob label forcing the simulated outcome: `failure` or `success`."""

UrlFor = Callable[[ProwJobObject, str], str]

_SNOWFLAKE_EPOCH_MS = 1288834974657  # the Twitter epoch, as Prow's snowflake generator uses
_AGENTS = ("", "kubernetes")  # plank only runs kubernetes-agent jobs
_CONFLICT_RETRIES = 3
_MAX_ATTEMPTS = 5


class SnowflakeIds:
    """Build ids as Prow's plank makes them without tot: 41-bit ms << 22 | node << 12 | sequence.

    Unique and strictly increasing per generator, even if the clock stalls or steps back.
    """

    def __init__(self, node: int = 1, *, clock: Callable[[], float] = time.time) -> None:
        self._node = node & 0x3FF
        self._clock = clock
        self._last_ms = -1
        self._sequence = 0

    def next(self) -> str:
        """The next build id, as a decimal string (19 digits for the coming decades)."""
        ms = int(self._clock() * 1000) - _SNOWFLAKE_EPOCH_MS
        if ms <= self._last_ms:
            ms = self._last_ms
            self._sequence = (self._sequence + 1) & 0xFFF
            if self._sequence == 0:
                ms += 1  # the millisecond's 4096 ids are used up: borrow the next one
        else:
            self._sequence = 0
        self._last_ms = ms
        return str(((ms & ((1 << 41) - 1)) << 22) | (self._node << 12) | self._sequence)


class _Step(enum.Enum):
    PROMOTE = "scheduling → triggered"
    START = "triggered → pending"
    COMPLETE = "pending → done"


_EXPECTED = {
    _Step.PROMOTE: ProwJobState.SCHEDULING,
    _Step.START: ProwJobState.TRIGGERED,
    _Step.COMPLETE: ProwJobState.PENDING,
}


class PlankSimulator:
    """Drives ProwJobs in `store` through plank's states; `run()` until cancelled."""

    def __init__(
        self,
        store: ProwJobStore,
        *,
        pending_after: float,
        complete_after: float,
        failure_rate: float = 0.0,
        rng: random.Random | None = None,
        url_for: UrlFor | None = None,
        build_ids: SnowflakeIds | None = None,
        watch_timeout_seconds: int = 300,
        retry_delay: float = 1.0,
        log: SimulatedTestLog | None = None,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self._store = store
        self._pending_after = pending_after
        self._complete_after = complete_after
        self._failure_rate = failure_rate
        self._rng = rng or random.Random()
        self._url_for = url_for
        self._build_ids = build_ids or SnowflakeIds()
        self._watch_timeout = watch_timeout_seconds
        self._retry_delay = retry_delay
        # name -> token of its one live timer; a timer whose token no longer matches is stale.
        self._tracked: dict[str, int] = {}
        self._timers: list[tuple[float, int, str, _Step, int]] = []
        self._tokens = 0
        self._wake = asyncio.Event()
        self._log = log

    @property
    def tracked(self) -> int:
        """How many jobs the simulator is about to move."""
        return len(self._tracked)

    async def run(self) -> None:
        """Follow the store and move jobs until cancelled."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._follow(), name="plank-simulator-watch")
                group.create_task(self._work(), name="plank-simulator-timers")
        finally:
            if self._log is not None:
                await self._log.aclose()

    # -- following the store ---------------------------------------------------------------

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        rv: str | None = None
        failures = 0
        while True:
            try:
                if rv is None:
                    rv = await self._list()
                started, received = loop.time(), False
                events = aiter(self._store.watch(rv, timeout_seconds=self._watch_timeout))
                try:
                    async for event in events:
                        received = True
                        rv = event.resource_version or rv
                        if event.type is not EventType.BOOKMARK:
                            self._consider(event.type, event.object)
                finally:
                    aclose = getattr(events, "aclose", None)
                    if aclose is not None:
                        await aclose()
                failures = 0
                if not received and loop.time() - started < self._retry_delay:
                    await asyncio.sleep(self._retry_delay)  # a stream that closes at once
            except Gone:
                rv = None
            except BackendError as exc:
                failures += 1
                logger.warning("plank simulator: list/watch failed: %s", exc)
                await asyncio.sleep(min(self._retry_delay * 2 ** min(failures, 10), 30.0))

    async def _list(self) -> str:
        seen: set[str] = set()
        token: str | None = None
        rv = ""
        while True:
            page = await self._store.list(limit=500, continue_token=token)
            rv = rv or page.resource_version
            for obj in page.items:
                seen.add(str(obj.get("metadata", {}).get("name", "")))
                self._consider(EventType.ADDED, obj)
            token = page.continue_token
            if not token:
                break
        for name in [n for n in self._tracked if n not in seen]:
            del self._tracked[name]
        return rv

    def _consider(self, event_type: EventType, obj: ProwJobObject) -> None:
        record = ProwJobRecord.from_object(obj)
        if event_type is EventType.DELETED:
            self._tracked.pop(record.name, None)
        elif record.name not in self._tracked and record.agent in _AGENTS:
            self._schedule_for(record)

    def _schedule_for(self, record: ProwJobRecord) -> None:
        if record.state is ProwJobState.SCHEDULING:
            self._schedule(record.name, _Step.PROMOTE, 0.0)
        elif record.state is ProwJobState.TRIGGERED:
            self._schedule(record.name, _Step.START, self._pending_after)
        elif record.state is ProwJobState.PENDING:
            self._schedule(record.name, _Step.COMPLETE, self._complete_after)
        else:
            self._tracked.pop(record.name, None)

    def _schedule(self, name: str, step: _Step, delay: float, attempt: int = 0) -> None:
        self._tokens += 1
        self._tracked[name] = self._tokens
        due = asyncio.get_running_loop().time() + delay
        heapq.heappush(self._timers, (due, self._tokens, name, step, attempt))
        self._wake.set()

    # -- moving jobs -----------------------------------------------------------------------

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            while self._timers and self._timers[0][0] <= loop.time():
                _, token, name, step, attempt = heapq.heappop(self._timers)
                if self._tracked.get(name) == token:
                    await self._advance(name, step, attempt)
            delay = self._timers[0][0] - loop.time() if self._timers else None
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _advance(self, name: str, step: _Step, attempt: int) -> None:
        """Re-read job `name`; if it is still where `step` expects it, move it on."""
        try:
            for _ in range(_CONFLICT_RETRIES):
                obj = await self._store.get(name)
                record = ProwJobRecord.from_object(obj)
                if record.state is not _EXPECTED[step]:
                    if self._log is not None and record.is_final:
                        self._log.abort(name)
                    self._tracked.pop(name, None)
                    self._schedule_for(record)  # moved by someone else: follow, or let go
                    return
                status, next_step = self._transition(step, obj, record)
                patch = {"metadata": {"resourceVersion": record.resource_version}, "status": status}
                try:
                    await self._store.patch(name, patch)
                except Conflict:
                    continue  # changed since we read it: look again
                logger.debug("plank simulator: %s %s", name, step.value)
                self._write_log(step, record, status)
                if next_step is None:
                    self._tracked.pop(name, None)
                else:
                    delay = (
                        self._pending_after if next_step is _Step.START else self._complete_after
                    )
                    self._schedule(name, next_step, delay)
                return
            self._retry(name, step, attempt, "it keeps changing under us")
        except ObjectNotFound:
            self._tracked.pop(name, None)
        except BackendError as exc:
            self._retry(name, step, attempt, str(exc))

    def _write_log(self, step: _Step, record: ProwJobRecord, status: dict[str, Any]) -> None:
        # The pod is named after the ProwJob (as plank names it); its test container writes.
        if self._log is None:
            return
        if step is _Step.START:
            self._log.start(record.name, record.job, self._complete_after)
        elif step is _Step.COMPLETE:
            self._log.finish(record.name, status["state"] == ProwJobState.SUCCESS.value)

    def _delay_before(self, step: _Step) -> float:
        return self._pending_after if step is _Step.START else self._complete_after

    def _retry(self, name: str, step: _Step, attempt: int, reason: str) -> None:
        if attempt + 1 >= _MAX_ATTEMPTS:
            logger.warning("plank simulator: giving up on %s (%s): %s", name, step.value, reason)
            self._tracked.pop(name, None)
        else:
            self._schedule(name, step, self._retry_delay, attempt + 1)

    def _transition(
        self, step: _Step, obj: ProwJobObject, record: ProwJobRecord
    ) -> tuple[dict[str, Any], _Step | None]:
        now = format_time(datetime.now(UTC))
        if step is _Step.PROMOTE:
            return {"state": ProwJobState.TRIGGERED.value}, _Step.START
        if step is _Step.START:
            build_id = self._build_ids.next()
            status: dict[str, Any] = {
                "state": ProwJobState.PENDING.value,
                "build_id": build_id,
                "pod_name": record.name,
                "pendingTime": now,
                "description": "Job triggered.",
            }
            url = self._url(obj, build_id)
            if url:
                status["url"] = url
            return status, _Step.COMPLETE
        failed = self._fails(record)
        return {
            "state": (ProwJobState.FAILURE if failed else ProwJobState.SUCCESS).value,
            "completionTime": now,
            "description": "Job failed." if failed else "Job succeeded.",
        }, None

    def _url(self, obj: ProwJobObject, build_id: str) -> str:
        if self._url_for is None:
            return ""
        try:
            return self._url_for(obj, build_id)
        except Exception:
            # As plank does: a job without a link still runs.
            logger.exception("plank simulator: no url for %s", obj["metadata"]["name"])
            return ""

    def _fails(self, record: ProwJobRecord) -> bool:
        forced = record.labels.get(LABEL_SIM_RESULT)
        if forced in ("failure", "success"):
            return forced == "failure"
        return self._rng.random() < self._failure_rate
