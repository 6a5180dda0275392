"""Live test output: a ProwJob's container log, followed from its build cluster as it is written.

Finds the job through the cache (the same lookup, and so the same visibility, as prowJob and
prowJobUpdated), waits for its pod, then streams the container's log. A stream that fails after
some lines is reopened and the lines already sent are skipped, so a client never sees a line
twice. Ends when the container ends, or says that the pod is gone and where the stored logs are.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from prow_graphql.errors import BackendError, InvalidInput, ObjectNotFound
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.service.reads import Reads
from prow_graphql.store.pod_logs import PodLogSource

_RETRY_FIRST = 0.2
_RETRY_MAX = 5.0
_GONE_RETRIES = 5  # a pending job's pod can lag its pod_name briefly: look a few times


class LogEventKind(enum.StrEnum):
    """What a log event says."""

    LINES = "LINES"
    WAITING = "WAITING"
    ENDED = "ENDED"
    POD_GONE = "POD_GONE"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """Lines of the log, or a notice about it (with the stored logs' link where known)."""

    kind: LogEventKind
    lines: tuple[str, ...] = ()
    message: str = ""
    stored_log_url: str = ""


class Logs(Reads):
    """prowJobLog: follow one container of a ProwJob's pod."""

    @property
    def pod_namespace(self) -> str:
        """Where Prow runs test pods (pod_namespace in config.yaml)."""
        return self.config.index.config.pod_namespace

    def stored_log_url(self, record: ProwJobRecord) -> str:
        """Where the uploaded logs are: status.url (Spyglass), else Deck's log page, else ""."""
        return record.url or self.links(record)[1] or ""

    async def pod_log(self, name: str, container: str = "test") -> AsyncIterator[LogEvent]:
        """LogEvents for container `container` of ProwJob `name`'s pod; see the module doc."""
        if not container.strip():
            raise InvalidInput("container", "is required, e.g. test")
        record: ProwJobRecord | None = None
        updates = self.follow(name)
        try:
            async for record in updates:
                if record.pod_name:
                    break
                if not record.is_final:
                    yield LogEvent(
                        LogEventKind.WAITING, message=f"{name} is {record.state}: no pod yet"
                    )
        finally:
            close = getattr(updates, "aclose", None)
            if close is not None:
                await close()  # leave the informer subscription now, not at garbage collection
        if record is None:
            return  # follow() ended without a state: the job was deleted
        if not record.pod_name:
            what = f"ended ({record.state})" if record.is_final else "was deleted"
            yield self._gone(record, f"{name} {what} without a pod")
            return
        if self.pod_logs is None:
            yield LogEvent(
                LogEventKind.UNAVAILABLE,
                message="live logs are off: start the gateway with --build-cluster-kubeconfig",
                stored_log_url=self.stored_log_url(record),
            )
            return
        # Closed explicitly so that an unsubscribe closes the build cluster's stream at once.
        async with contextlib.aclosing(self._stream(self.pod_logs, record, container)) as events:
            async for event in events:
                yield event

    async def _stream(
        self, source: PodLogSource, record: ProwJobRecord, container: str
    ) -> AsyncGenerator[LogEvent, None]:
        cluster = record.cluster or "default"
        sent, delay, gone, failures, waiting_said = 0, _RETRY_FIRST, 0, 0, False
        while True:
            seen = 0
            stream = source.stream(cluster, self.pod_namespace, record.pod_name, container)
            try:
                async with contextlib.aclosing(stream) as batches:
                    async for batch in batches:
                        fresh = batch[max(0, sent - seen) :]
                        seen += len(batch)
                        if fresh:
                            sent += len(fresh)
                            delay = _RETRY_FIRST
                            yield LogEvent(LogEventKind.LINES, lines=tuple(fresh))
                current = self.get(record.name) or record
                yield LogEvent(
                    LogEventKind.ENDED,
                    message=f"container {container!r} of pod {record.pod_name} ended",
                    stored_log_url=self.stored_log_url(current),
                )
                return
            except ObjectNotFound:
                current = self.get(record.name) or record
                gone += 1
                if current.is_final or gone >= _GONE_RETRIES:
                    yield self._gone(current, f"pod {record.pod_name} is gone")
                    return
            except BackendError as exc:
                current = self.get(record.name) or record
                failures += 1
                if current.is_final and (sent == 0 or failures >= _GONE_RETRIES):
                    yield LogEvent(
                        LogEventKind.UNAVAILABLE,
                        message=str(exc),
                        stored_log_url=self.stored_log_url(current),
                    )
                    return
                if not waiting_said:
                    waiting_said = True
                    yield LogEvent(LogEventKind.WAITING, message=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    def _gone(self, record: ProwJobRecord, what: str) -> LogEvent:
        url = self.stored_log_url(record)
        where = f"; the stored logs are at {url}" if url else "; no stored logs are linked"
        return LogEvent(LogEventKind.POD_GONE, message=what + where, stored_log_url=url)
