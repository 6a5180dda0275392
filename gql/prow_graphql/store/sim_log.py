"""A plausible `test` container log for the simulated plank: `go test -v` lines paced over the run.

The simulator calls `start` when a job's pod starts and `finish` when it ends; lines go to a
`PodLogWriter` (the embedded pod logs, or the fake API server's in tests).
"""

from __future__ import annotations

import asyncio
import contextlib

from prow_graphql.store.pod_logs import PodLogWriter

CONTAINER = "test"
_TESTS = (
    "TestConfigLoads",
    "TestBranchMatching",
    "TestPresubmitDefaults",
    "TestRerunAuth",
    "TestJobURL",
    "TestWatchResume",
)


class SimulatedTestLog:
    """Writes a paced test log per pod; one writer task per running pod."""

    def __init__(self, writer: PodLogWriter, namespace: str) -> None:
        self._writer = writer
        self._namespace = namespace
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, pod: str, job: str, duration: float) -> None:
        """The pod started: write the header now and one test every `duration / tests` s."""
        self._line(pod, f"+ ./hack/run-tests.sh  # {job}")
        self._line(pod, "go test -v -count=1 ./...")
        old = self._tasks.pop(pod, None)
        if old is not None:
            old.cancel()
        self._tasks[pod] = asyncio.create_task(self._pace(pod, duration), name=f"sim-log-{pod}")

    def finish(self, pod: str, passed: bool) -> None:
        """The container ended: write what was not written yet, the verdict, and end the log."""
        task = self._tasks.pop(pod, None)
        if task is not None:
            task.cancel()
        verdict = "PASS" if passed else "FAIL"
        self._line(pod, f"=== RUN   {_TESTS[-1]}")
        if not passed:
            self._line(pod, "    run_test.go:42: expected 3 jobs, got 2")
        self._line(pod, f"--- {verdict}: {_TESTS[-1]} (0.02s)")
        self._line(pod, verdict)
        self._line(pod, f"{'ok  ' if passed else 'FAIL'}\texample.com/widgets\t0.123s")
        self._writer.end(self._namespace, pod, CONTAINER)

    def abort(self, pod: str) -> None:
        """The job was stopped (aborted) while its pod ran: the container is killed."""
        task = self._tasks.pop(pod, None)
        if task is not None:
            task.cancel()
            self._line(pod, "Terminated: the ProwJob was aborted")
            self._writer.end(self._namespace, pod, CONTAINER)

    async def aclose(self) -> None:
        """Stop every pacing task."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _pace(self, pod: str, duration: float) -> None:
        # Leave the last test to `finish`, whose outcome decides its verdict.
        step = duration / len(_TESTS)
        for name in _TESTS[:-1]:
            await asyncio.sleep(step)
            self._line(pod, f"=== RUN   {name}")
            self._line(pod, f"--- PASS: {name} ({step:.2f}s)")

    def _line(self, pod: str, line: str) -> None:
        self._writer.write(self._namespace, pod, CONTAINER, line)
