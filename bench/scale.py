"""`make bench`, second table: the gateway at cluster scale.

1k, 10k, 20k (and on request 50k) real-shaped ProwJobs (bench.prowjobs: the kubevirt config through
the gateway's own builder, with plank-like statuses) in an API server — the real one from
../shared/tools/realkube when present, else the fake — and for each size a fresh gateway process
(`serve --backend kube`, kubevirt config): time from spawn to /readyz 200, RSS per cached ProwJob
(against the same gateway over an empty namespace), and the p50 of a job-filtered and a
newest-50 `prowJobs` page over one persistent HTTP connection. Beside them, two floors from the
same run: the list's raw JSON bytes per ProwJob, and a bare `json.loads` of that list (RSS per
ProwJob and seconds) in a fresh interpreter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.proc import ROOT, rss_kib
from bench.prowjobs import KUBEVIRT, available, real_shaped
from bench.stats import percentile
from bench.wire import HTTPClient

QUERIES = 30
_CONTINUE = re.compile(rb'"continue":"([^"]+)"')
NEWEST = "{ prowJobs(first: 50) { totalCount edges { cursor node { %s } } } }"
FILTERED = '{ prowJobs(first: 50, filter: {job: "%s"}) { totalCount edges { node { %s } } } }'
FIELDS = "name job type state startTime completionTime buildId url " + (
    "refs { org repo pulls { number author } }"
)
_LOADS = """
import json, sys, time
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
raw = open(sys.argv[1], "rb").read()
before = rss(); started = time.perf_counter()
items = json.loads(raw)["items"]
took = time.perf_counter() - started
print(json.dumps({"seconds": took, "bytes": rss() - before, "n": len(items)}))
"""


@dataclass(frozen=True)
class ScaleRow:
    n: int
    ready_s: float
    rss_mib: float
    rss_per_job_kib: float
    filtered_p50_ms: float
    newest_p50_ms: float
    raw_per_job_kib: float
    loads_per_job_kib: float
    loads_s: float
    paged_list_s: float
    cached_list_s: float
    peak_rss_mib: float


class ApiServer:
    """Where the ProwJobs live: create them, list them raw, hand the gateway a kubeconfig."""

    name = ""
    namespace = ""
    kubeconfig = Path()

    async def create(self, objects: Sequence[dict[str, Any]]) -> None: ...
    async def list_raw(self) -> bytes: ...
    async def paged_list_seconds(self) -> float:
        return float("nan")

    async def cached_list_seconds(self) -> float:
        return float("nan")


class RealApiServer(ApiServer):
    name = "real kube-apiserver 1.26 (realkube)"

    def __init__(self, directory: Path) -> None:
        from tests import realkube

        # The floors list every ProwJob in one request (tens of MB at 20,000): the tests' short
        # --request-timeout (fast restarts) would answer 504, so the bench gets a long one.
        self.kube = realkube.start(directory / "realkube", "--request-timeout=300s")
        self.namespace = self.kube.new_namespace("bench")
        self.kubeconfig = self.kube.kubeconfig_for(self.namespace, directory)
        self._ssl = ssl.create_default_context(cafile=str(self.kube.ca_file))

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        return httpx.AsyncClient(
            base_url=self.kube.server,
            verify=self._ssl,
            headers={"Authorization": f"Bearer {self.kube.token}"},
            timeout=120,
            limits=limits,
        )

    @property
    def _path(self) -> str:
        return f"/apis/prow.k8s.io/v1/namespaces/{self.namespace}/prowjobs"

    async def create(self, objects: Sequence[dict[str, Any]]) -> None:
        queue = list(objects)
        async with self._client() as http:

            async def worker() -> None:
                while queue:
                    obj = queue.pop()
                    response = await http.post(self._path, json=obj)
                    if response.status_code != 201:
                        raise RuntimeError(
                            f"create answered {response.status_code}: {response.text[:300]}"
                        )

            await asyncio.gather(*(worker() for _ in range(16)))

    async def list_raw(self) -> bytes:
        async with self._client() as http:
            response = await http.get(self._path)
            response.raise_for_status()
            return response.content

    async def paged_list_seconds(self) -> float:
        """What the gateway's paginated list costs at the API server alone: the same pages of
        500, fetched one after the other, bodies not parsed (the continue token is found by a
        substring search)."""
        started = time.monotonic()
        async with self._client() as http:
            token = ""
            while True:
                params = {"limit": "500", **({"continue": token} if token else {})}
                response = await http.get(self._path, params=params)
                response.raise_for_status()
                found = _CONTINUE.search(response.content[-2048:])
                if found is None:
                    return time.monotonic() - started
                token = found.group(1).decode()

    async def cached_list_seconds(self) -> float:
        """What the gateway's first list costs at the API server alone: one unpaginated list at
        resourceVersion 0 (served from its watch cache), body read, not parsed."""
        started = time.monotonic()
        async with self._client() as http:
            response = await http.get(self._path, params={"resourceVersion": "0"})
            response.raise_for_status()
        return time.monotonic() - started

    def stop(self) -> None:
        self.kube.stop()


class FakeApiServer(ApiServer):
    name = "fake API server (tests/fakekube; realkube absent)"

    def __init__(self, directory: Path) -> None:
        from tests.fakekube import FakeKubeServer

        self.namespace = "bench"
        self.kube = FakeKubeServer(namespace=self.namespace, bookmark_interval=None, validate=False)
        self._directory = directory

    async def start(self) -> None:
        await self.kube.start()
        self.kubeconfig = self.kube.write_kubeconfig(self._directory / "kubeconfig")

    async def create(self, objects: Sequence[dict[str, Any]]) -> None:
        for obj in objects:
            self.kube.create_object(obj)

    async def list_raw(self) -> bytes:
        client = HTTPClient(
            "127.0.0.1", self.kube.port or 0, {"Authorization": f"Bearer {self.kube.token}"}
        )
        try:
            status, body = await client.request(
                "GET", f"/apis/prow.k8s.io/v1/namespaces/{self.namespace}/prowjobs"
            )
        finally:
            await client.aclose()
        if status != 200:
            raise RuntimeError(f"list answered {status}")
        return body


@contextlib.asynccontextmanager
async def api_server(directory: Path) -> AsyncIterator[ApiServer]:
    from tests import realkube

    if realkube.skip_reason() is None:
        real = await asyncio.to_thread(RealApiServer, directory)
        try:
            yield real
        finally:
            await asyncio.to_thread(real.stop)
        return
    fake = FakeApiServer(directory)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.kube.stop()


async def gateway(api: ApiServer, port: int, log: Path) -> tuple[asyncio.subprocess.Process, float]:
    """Spawn a gateway on `port`; (process, seconds until /readyz answered 200)."""
    command = [
        sys.executable, "-m", "prow_graphql", "serve",
        "--backend", "kube", "--kubeconfig", str(api.kubeconfig), "--namespace", api.namespace,
        "--config-path", str(KUBEVIRT / "config.yaml"), "--job-config-path", str(KUBEVIRT / "jobs"),
        "--host", "127.0.0.1", "--port", str(port), "--metrics-port", "0",
        "--config-reload-interval", "0", "--log-level", "WARNING",
    ]  # fmt: skip
    started = time.monotonic()
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    probe = HTTPClient("127.0.0.1", port)
    try:
        async with asyncio.timeout(600):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"the gateway exited:\n{log.read_text()[-3000:]}")  # noqa: ASYNC240
                with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                    if (await probe.request("GET", "/readyz"))[0] == 200:
                        return process, time.monotonic() - started
                await probe.aclose()
                await asyncio.sleep(0.05)
    finally:
        await probe.aclose()


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def p50(client: HTTPClient, document: str) -> float:
    body = json.dumps({"query": document}).encode()
    times = []
    for i in range(QUERIES + 3):
        started = time.perf_counter()
        status, answer = await client.request("POST", "/graphql", body)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or b'"errors"' in answer:
            raise RuntimeError(f"query answered {status}: {answer[:300]!r}")
        if i >= 3:
            times.append(elapsed)
    return percentile(times, 50)


def loads_floor(raw: bytes, directory: Path) -> dict[str, float]:
    path = directory / "list.json"
    path.write_bytes(raw)
    done = subprocess.run(
        [sys.executable, "-c", _LOADS, str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


async def measure(api: ApiServer, n: int, job: str, directory: Path, base_rss: float) -> ScaleRow:
    from bench.run import free_port

    raw = await api.list_raw()
    nan = float("nan")
    paged = await api.paged_list_seconds() if n else nan
    cached = await api.cached_list_seconds() if n else nan
    floor = (
        await asyncio.to_thread(loads_floor, raw, directory)
        if n
        else {"bytes": nan, "seconds": nan}
    )
    port = free_port()
    process, ready = await gateway(api, port, directory / f"gateway-{n}.log")
    try:
        client = HTTPClient("127.0.0.1", port)
        try:
            filtered = await p50(client, FILTERED % (job, FIELDS))
            newest = await p50(client, NEWEST % FIELDS)
        finally:
            await client.aclose()
        rss = rss_kib(process.pid)
        peak = rss_kib(process.pid, "VmHWM")
    finally:
        await stop(process)
    return ScaleRow(
        n=n,
        ready_s=ready,
        rss_mib=rss / 1024,
        rss_per_job_kib=(rss - base_rss) / n if n else nan,
        filtered_p50_ms=filtered,
        newest_p50_ms=newest,
        raw_per_job_kib=len(raw) / 1024 / n if n else nan,
        loads_per_job_kib=floor["bytes"] / 1024 / n if n else nan,
        loads_s=floor["seconds"],
        paged_list_s=paged,
        cached_list_s=cached,
        peak_rss_mib=peak / 1024,
    )


async def run_scale(sizes: Sequence[int], progress: Any) -> tuple[list[ScaleRow], str]:
    if not available():
        return [], f"skipped: {KUBEVIRT} is absent"
    with tempfile.TemporaryDirectory(prefix="prow-graphql-scale-") as tmp:
        directory = Path(tmp)
        async with api_server(directory) as api:
            objects = list(real_shaped(max(sizes), api.namespace))
            job = objects[0]["spec"]["job"]
            # The same gateway over an empty namespace, queried the same way: its RSS is the
            # baseline (code, config, schema warmed up) that RSS per ProwJob is counted from.
            empty = await measure(api, 0, job, directory, 0.0)
            base_rss = empty.rss_mib * 1024
            rows = [empty]
            have = 0
            for n in sorted(sizes):
                progress(f"scale: creating ProwJobs {have}..{n} in the {api.name}")
                created = time.monotonic()
                await api.create(objects[have:n])
                progress(f"scale: created in {time.monotonic() - created:.0f} s")
                have = n
                progress(f"scale: measuring N={n}")
                rows.append(await measure(api, n, job, directory, base_rss))
            return rows, api.name


def free_port_() -> int:
    from bench.run import free_port

    return free_port()


def render_scale(rows: Sequence[ScaleRow], server: str, seconds: float) -> str:
    head = (
        "|      N | ready s | RSS MiB | peak RSS MiB | RSS KiB/job | filtered p50 ms "
        "| newest-50 p50 ms | floor: raw JSON KiB/job | floor: json.loads KiB/job "
        "| floor: json.loads s | API server: paged list s | API server: cached list s |"
    )
    rule = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    lines = [
        f"Cluster scale: real-shaped ProwJobs (kubevirt config, gateway builder) in a {server}; "
        f"{os.cpu_count()} CPUs; {seconds:.0f} s",
        head,
        rule,
    ]
    for r in rows:
        lines.append(
            f"| {r.n:>6} | {r.ready_s:7.2f} | {r.rss_mib:7.1f} | {r.peak_rss_mib:12.1f} "
            f"| {r.rss_per_job_kib:11.2f} | {r.filtered_p50_ms:15.2f} | {r.newest_p50_ms:16.2f} "
            f"| {r.raw_per_job_kib:23.2f} | {r.loads_per_job_kib:25.2f} | {r.loads_s:19.2f} "
            f"| {r.paged_list_s:24.2f} | {r.cached_list_s:25.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,20000")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows, server = asyncio.run(
        run_scale(
            [int(s) for s in args.sizes.split(",") if s],
            lambda m: print(f"  {m}", file=sys.stderr, flush=True),
        )
    )
    print(render_scale(rows, server, time.monotonic() - started))


if __name__ == "__main__":
    main()
