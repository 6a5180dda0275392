"""Live log latency: from a line written into a pod's log (fake API server) to that line on the
stdout of `prow-graphql trigger --follow --logs` (a real subprocess), p50/p90/max over N lines.

    .venv/bin/python -m bench.log_latency [--lines 100] [--interval 0.02]

Path measured: fake API server's pods/log (chunked, follow=true) → the gateway's build-cluster
client → prowJobLog over graphql-transport-ws → the CLI → its stdout pipe → this process. The fake
API server and the gateway share this process and its event loop (the CLI is separate), so the
figure includes their scheduling on one core; it excludes the real API server and kubelet.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.stats import percentile
from prow_graphql.prow.objects import format_time
from tests.fakekube import FakeKubeServer
from tests.harness import ROOT, example_settings, serve, wait_ready

POD_NAMESPACE = "test-pods"


async def measure(lines: int, interval: float) -> list[float]:
    """Latencies in ms of `lines` log lines, written `interval` seconds apart."""
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeKubeServer() as api:
            kubeconfig = api.write_kubeconfig(Path(tmp) / "kubeconfig")
            clusters = api.write_kubeconfig(Path(tmp) / "clusters", context="default")
            settings = example_settings(
                "--kubeconfig", str(kubeconfig), "--build-cluster-kubeconfig", str(clusters),
                backend="kube",
            )  # fmt: skip
            async with serve(settings) as gateway:
                await wait_ready(gateway)
                return await _run(api, gateway.url, lines, interval)


async def _run(api: FakeKubeServer, url: str, lines: int, interval: float) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROW_GRAPHQL_")}
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "prow_graphql", "trigger", "--url", url,
        "--org", "example-org", "--repo", "widgets", "--job", "pull-widgets-unit", "--pr", "1",
        "--follow", "--logs",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert cli.stdout is not None
    name = (await cli.stdout.readline()).decode().rsplit("ProwJob ", 1)[1].strip()
    # Play plank: the job goes pending with its pod, whose test container then writes.
    now = format_time(datetime.now(UTC))
    api.set_status(
        name, {"state": "pending", "pod_name": name, "build_id": "1", "pendingTime": now}
    )
    pods = api.pod_logs
    pods.write(POD_NAMESPACE, name, "test", "warm-up")
    while not (await cli.stdout.readline()).startswith(b"warm-up"):
        pass
    latencies = []
    for i in range(lines):
        pods.write(POD_NAMESPACE, name, "test", f"line {i}")
        written = time.perf_counter()
        while not (await cli.stdout.readline()).startswith(f"line {i}".encode()):
            pass
        latencies.append((time.perf_counter() - written) * 1000)
        await asyncio.sleep(interval)
    pods.end(POD_NAMESPACE, name, "test")
    api.set_status(name, {"state": "success", "completionTime": format_time(datetime.now(UTC))})
    await asyncio.wait_for(cli.wait(), 30)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.log_latency")
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between lines")
    args = parser.parse_args()
    latencies = asyncio.run(measure(args.lines, args.interval))
    p50, p90, p99 = (percentile(latencies, q) for q in (50, 90, 99))
    print(
        f"log line written (fake API server) → shown by `trigger --follow --logs`: "
        f"p50 {p50:.2f} ms, p90 {p90:.2f} ms, p99 {p99:.2f} ms, max {max(latencies):.2f} ms "
        f"over {len(latencies)} lines"
    )


if __name__ == "__main__":
    main()
