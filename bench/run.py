"""`make bench`: the gateway's push latency, API load and memory per follower, side by side with a
client that polls the API server every 500 ms like the manual-trigger service it replaces.

Arrangement (all on 127.0.0.1): the fake API server in one process, `prow-graphql serve --backend
kube` in another (so its RSS is its own), the followers in worker processes, and this process
writing the changes. See docs/bench.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import platform
import random
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.proc import ROOT, Child, cpu_seconds, raise_open_file_limit, rss_kib, use_uvloop
from bench.stats import Row, percentile, render
from bench.wire import HTTPClient

EXAMPLE = ROOT / "examples" / "prow"
NAMESPACE = "default"  # prowjob_namespace of the example config
JOB_NAME = "bench-follow-0001"
PROWJOBS = f"/apis/prow.k8s.io/v1/namespaces/{NAMESPACE}/prowjobs"
MERGE_PATCH = "application/merge-patch+json"
FRAME_SIZE = 230  # about what the gateway sends per change (WebSocket header + `next` message)
Writer = Callable[[str], Awaitable[float]]


def prowjob() -> dict[str, Any]:
    """A running (pending) postsubmit, so following it never completes during the bench."""
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": JOB_NAME,
            "labels": {
                "prow.k8s.io/job": "post-widgets-push-image",
                "prow.k8s.io/type": "postsubmit",
                "prow.k8s.io/refs.org": "example-org",
                "prow.k8s.io/refs.repo": "widgets",
                "prow.k8s.io/refs.base_ref": "main",
            },
        },
        "spec": {
            "type": "postsubmit",
            "agent": "kubernetes",
            "job": "post-widgets-push-image",
            "refs": {"org": "example-org", "repo": "widgets", "base_ref": "main"},
        },
        "status": {
            "state": "pending",
            "startTime": "2026-01-01T00:00:00Z",
            "pendingTime": "2026-01-01T00:00:01Z",
            "build_id": "1000000000000000001",
            "description": "Job triggered.",
        },
    }


@dataclass
class Phase:
    """What one side (subscribers, pollers or the floor) measured for one N."""

    latencies_ms: list[float] = field(default_factory=list)
    expected: int = 0
    failures: int = 0

    @property
    def missing(self) -> int:
        return self.expected - len(self.latencies_ms)


@dataclass
class Bench:
    args: argparse.Namespace
    api: Child
    driver: HTTPClient
    api_port: int
    token: str
    gateway: asyncio.subprocess.Process | None = None
    gateway_port: int = 0
    gateway_requests: collections.Counter[str] = field(default_factory=collections.Counter)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    patch_ms: list[float] = field(default_factory=list)

    async def reset_counts(self) -> collections.Counter[str]:
        """Clear the API server's counters; what they held."""
        counts = collections.Counter((await self.api.call(cmd="reset"))["counts"])
        self.gateway_requests.update({k: counts[k] for k in ("list", "watch")})
        return counts

    async def start_gateway(self, kubeconfig: str, log: Path) -> None:
        self.gateway_port = free_port()
        command = [
            sys.executable, "-m", "prow_graphql", "serve",
            "--backend", "kube", "--kubeconfig", kubeconfig,
            "--config-path", str(EXAMPLE / "config.yaml"),
            "--job-config-path", str(EXAMPLE / "jobs"),
            "--host", "127.0.0.1", "--port", str(self.gateway_port),
            "--metrics-port", "0", "--log-level", "WARNING",
            # Every follower connects from 127.0.0.1: lift the per-caller connection and
            # subscription caps (a bench of 1,000 followers is one caller to the gateway).
            "--max-connections-per-identity", "1000000",
            "--max-subscriptions-per-identity", "1000000",
        ]  # fmt: skip
        with log.open("wb") as out:
            self.gateway = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        probe = HTTPClient("127.0.0.1", self.gateway_port)
        async with asyncio.timeout(60):
            while True:
                if self.gateway.returncode is not None:
                    tail = log.read_bytes()[-3000:].decode(errors="replace")  # noqa: ASYNC240
                    raise RuntimeError(f"the gateway exited:\n{tail}")
                with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                    if (await probe.request("GET", "/readyz"))[0] == 200:
                        break
                await probe.aclose()
                await asyncio.sleep(0.1)
        await probe.aclose()

    async def stop_gateway(self) -> None:
        if self.gateway is None or self.gateway.returncode is not None:
            return
        self.gateway.terminate()
        try:
            await asyncio.wait_for(self.gateway.wait(), 15)
        except TimeoutError:
            self.gateway.kill()
            await self.gateway.wait()

    @contextlib.asynccontextmanager
    async def workers(self, mode: str, n: int, port: int) -> AsyncIterator[list[Child]]:
        """Worker processes holding `n` followers between them, all connected and live."""
        progress(f"N={n}: connecting {n} {mode} follower(s)")
        count = max(1, min(self.args.workers, n))
        shares = [n // count + (1 if i < n % count else 0) for i in range(count)]
        children = [
            await Child.spawn("bench.worker", name=f"{mode}-worker-{i}") for i in range(count)
        ]
        try:
            common: dict[str, Any] = {
                "cmd": "start", "mode": mode, "host": "127.0.0.1", "port": port,
            }  # fmt: skip
            if mode == "ws":
                common.update(job=JOB_NAME)
            elif mode == "poll":
                common.update(
                    token=self.token,
                    path=f"{PROWJOBS}/{JOB_NAME}",
                    period=self.args.poll_period,
                )
            await asyncio.gather(
                *(
                    c.call(**common, count=share, seed=i)
                    for i, (c, share) in enumerate(zip(children, shares, strict=True))
                )
            )
            yield children
        finally:
            for child in children:
                with contextlib.suppress(Exception):
                    await child.call(cmd="stop", timeout=30)
                await child.close()

    async def window(self) -> float:
        """API requests per second over a fixed window with the followers attached."""
        await self.reset_counts()
        await asyncio.sleep(self.args.window)
        counts = await self.reset_counts()
        counts.pop("patch", None)  # none are made in the window; never count the bench's own
        window: float = self.args.window
        return sum(counts.values()) / window

    async def patch(self, description: str) -> float:
        """Write a new status.description through the API; the time taken just before."""
        body = json.dumps({"status": {"description": description}}).encode()
        before = time.monotonic()
        status, answer = await self.driver.request(
            "PATCH", f"{PROWJOBS}/{JOB_NAME}", body, MERGE_PATCH
        )
        self.patch_ms.append((time.monotonic() - before) * 1000)
        if status != 200:
            raise RuntimeError(f"PATCH answered {status}: {answer[:300]!r}")
        return before

    async def changes(
        self, children: list[Child], n: int, tag: str, write: Writer, count: int | None = None
    ) -> Phase:
        """`--changes` changes made by `write`; latency of each to each follower's first sight."""
        started: dict[str, float] = {}
        count = self.args.changes if count is None else count
        progress(f"N={n}: {tag}: {count} changes")
        for k in range(-self.args.warmup, count):
            description = f"bench {tag} N={n} change {k:02d} {secrets.token_hex(3)}"
            marker = json.dumps(description)  # quoted, as it appears in either JSON answer
            for child in children:
                await child.call(cmd="expect", marker=marker)
            before = await write(marker)
            if k >= 0:
                started[marker] = before
            await asyncio.gather(
                *(c.call(cmd="wait", within=self.args.change_timeout) for c in children)
            )
            # A random pause over a whole poll period: otherwise the next change would come at a
            # fixed phase of the pollers' ticks (just after one) and bias their latency.
            await asyncio.sleep(self.rng.uniform(0.05, 0.05 + self.args.poll_period))
        phase = Phase(expected=n * len(started))
        for reply in await asyncio.gather(*(c.call(cmd="times") for c in children)):
            phase.failures += reply["failures"]
            for marker, seen in reply["times"].items():
                if marker in started:
                    phase.latencies_ms += [(t - started[marker]) * 1000 for t in seen]
        return phase

    async def measure(self, n: int) -> Row:
        assert self.gateway is not None
        self.patch_ms.clear()
        await asyncio.sleep(1.0)  # let the previous round's connections finish closing
        rss_before = rss_kib(self.gateway.pid)
        async with self.workers("ws", n, self.gateway_port) as children:
            await asyncio.sleep(0.5)
            rss_after = rss_kib(self.gateway.pid)
            push_rps = await self.window()
            cpu_before = cpu_seconds(self.gateway.pid)
            push = await self.changes(children, n, "push", self.patch_marker)
            cpu_per_change = (cpu_seconds(self.gateway.pid) - cpu_before) / self.total_changes
        async with self.workers("poll", n, self.api_port) as children:
            poll_rps = await self.window()
            poll = await self.changes(children, n, "poll", self.patch_marker)
        floor, floor_cpu_per_change = await self.floor(n)
        row = Row(
            n=n,
            push_p50=percentile(push.latencies_ms, 50),
            push_p99=percentile(push.latencies_ms, 99),
            push_max=max(push.latencies_ms, default=math.nan),
            poll_p50=percentile(poll.latencies_ms, 50),
            poll_p99=percentile(poll.latencies_ms, 99),
            floor_p50=percentile(floor.latencies_ms, 50),
            floor_p99=percentile(floor.latencies_ms, 99),
            push_rps=push_rps,
            poll_rps=poll_rps,
            rss_per_subscriber_kib=(rss_after - rss_before) / n,
            rss_after_mib=rss_after / 1024,
            patch_p50=percentile(self.patch_ms, 50),
            gateway_cpu_ms=cpu_per_change * 1000,
            floor_cpu_ms=floor_cpu_per_change * 1000,
            samples=len(push.latencies_ms),
            push_missing=push.missing,
            poll_missing=poll.missing,
            poll_failures=poll.failures,
        )
        progress(f"N={n}: {row.summary()}")
        return row

    async def warm_up(self) -> None:
        """One follower and one change first, so first-use allocations (lazy imports, caches)
        do not count as the first N's memory per subscriber."""
        async with self.workers("ws", 1, self.gateway_port) as children:
            await self.changes(children, 1, "warm-up", self.patch_marker, count=1)

    @property
    def total_changes(self) -> int:
        total: int = self.args.warmup + self.args.changes
        return total

    async def patch_marker(self, marker: str) -> float:
        return await self.patch(json.loads(marker))

    async def floor(self, n: int) -> tuple[Phase, float]:
        """The same changes as bare writes of a frame-sized message to n plain connections;
        with the floor process's CPU seconds per change (what those writes alone cost)."""
        blaster = await Child.spawn("bench.blaster", name="blaster")
        try:
            port = (await blaster.read(60))["port"]

            async def blast(marker: str) -> float:
                reply = await blaster.call(cmd="blast", marker=marker, size=FRAME_SIZE)
                started: float = reply["started"]
                return started

            async with self.workers("raw", n, port) as children:
                cpu_before = cpu_seconds(blaster.pid)
                phase = await self.changes(children, n, "floor", blast)
                return phase, (cpu_seconds(blaster.pid) - cpu_before) / self.total_changes
        finally:
            await blaster.close()


def progress(message: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"  {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="1,100,1000", help="follower counts, comma-separated")
    parser.add_argument("--changes", type=int, default=20, help="measured changes per N and side")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured changes first")
    parser.add_argument("--window", type=float, default=5.0, help="API request count window, s")
    parser.add_argument("--workers", type=int, default=1, help="client processes per side")
    parser.add_argument("--poll-period", type=float, default=0.5, help="baseline poll period, s")
    parser.add_argument("--change-timeout", type=float, default=10.0)
    parser.add_argument(
        "--scale-sizes",
        default="1000,10000,20000",
        help="ProwJob counts for the cluster-scale table (bench.scale); empty: skip it",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> tuple[list[Row], collections.Counter[str]]:
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="prow-graphql-bench-") as tmp:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        api = await Child.spawn("bench.fakeapi", ["--kubeconfig", kubeconfig], name="fakeapi")
        info = await api.read(60)
        auth = {"Authorization": f"Bearer {info['token']}"}
        driver = HTTPClient("127.0.0.1", info["port"], auth)
        bench = Bench(args, api, driver, info["port"], info["token"])
        try:
            status, answer = await driver.request("POST", PROWJOBS, json.dumps(prowjob()).encode())
            if status != 201:
                raise RuntimeError(f"creating the ProwJob answered {status}: {answer[:300]!r}")
            await bench.start_gateway(kubeconfig, Path(tmp) / "gateway.log")
            await bench.warm_up()
            rows = []
            for n in sizes:
                rows.append(await bench.measure(n))
            await bench.reset_counts()
            return rows, bench.gateway_requests
        finally:
            await bench.stop_gateway()
            await driver.aclose()
            await api.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    files = raise_open_file_limit()
    largest = max(int(s) for s in args.sizes.split(","))
    if files < 2 * largest + 200:
        sys.exit(f"bench: the open-file limit ({files}) is too low for {largest} followers")
    loop = use_uvloop()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    rows, gateway_requests = asyncio.run(run(args))
    environment = (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {loop} clients, "
        f"{args.workers} client process(es) per side, "
        f"open-file limit {files}, 1-min load average {load_before:.2f} before the run"
    )
    print(render(rows, args, environment, dict(gateway_requests), time.monotonic() - started))
    scale_sizes = [int(s) for s in args.scale_sizes.split(",") if s]
    if scale_sizes:
        from bench.scale import render_scale, run_scale

        started = time.monotonic()
        scale_rows, server = asyncio.run(run_scale(scale_sizes, progress))
        print()
        print(render_scale(scale_rows, server, time.monotonic() - started))
