"""`python -m bench.gangway` (`make bench-gangway`): the gangway API served by the gateway.

Starts the shipped gateway as a subprocess (embedded backend, example config, plank simulator
paused so jobs stay triggered until the bench changes them) with REST and --grpc-port, then:

1. create-to-TRIGGERED: ms for a CreateJobExecution (a periodic) over REST and over gRPC, from
   sending the request to holding the answer (which says TRIGGERED: the ProwJob exists).
2. status change → client: K jobs each followed at once by a WatchJobExecution stream (the
   extension) and by a poller doing what gangway's Go helper `WaitForJobExecutionStatus` does
   (GetJobExecution every 2 s, from a random phase); one BulkJobStatusChange moves all K from
   TRIGGERED to PENDING; each side's delay is measured from just before that call.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from typing import Any

import grpc
import httpx

from bench.proc import ROOT
from bench.stats import percentile
from prow_graphql.gangway import codegen
from tests.harness import free_socket

PERIODIC = "periodic-widgets-nightly-e2e"
POLL_PERIOD = 2.0  # gangway's example: WaitForJobExecutionStatus(..., 2s, 90s)


def _port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
    return port


async def _start(http_port: int, grpc_port: int) -> asyncio.subprocess.Process:
    example = ROOT / "examples" / "prow"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "prow_graphql", "serve", "--backend", "memory",
        "--config-path", str(example / "config.yaml"), "--job-config-path", str(example / "jobs"),
        "--port", str(http_port), "--grpc-port", str(grpc_port), "--metrics-port", "0",
        "--enable-abort", "--sim-pending-after", "3600", "--sim-complete-after", "3600",
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
        for _ in range(600):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError("the gateway did not become ready")


async def create_latency(http: httpx.AsyncClient, prow: Any, pb: Any, n: int) -> dict[str, float]:
    body = {"job_name": PERIODIC, "job_execution_type": "PERIODIC"}
    rest: list[float] = []
    rpc: list[float] = []
    request = pb.CreateJobExecutionRequest(job_name=PERIODIC, job_execution_type=pb.PERIODIC)
    for _ in range(n):
        started = time.perf_counter()
        answer = (await http.post("/v1/executions", json=body)).json()
        rest.append(time.perf_counter() - started)
        assert answer["job_status"] == "TRIGGERED", answer
        started = time.perf_counter()
        created = await prow.CreateJobExecution(request)
        rpc.append(time.perf_counter() - started)
        assert created.job_status == pb.TRIGGERED
    return {"rest": percentile(rest, 50) * 1e3, "grpc": percentile(rpc, 50) * 1e3}


async def change_latency(prow: Any, pb: Any, k: int) -> tuple[list[float], list[float]]:
    """One round: K new jobs, a stream and a poller each, one bulk change; delays in seconds."""
    request = pb.CreateJobExecutionRequest(job_name=PERIODIC, job_execution_type=pb.PERIODIC)
    ids = [(await prow.CreateJobExecution(request)).id for _ in range(k)]
    streams = [prow.WatchJobExecution(pb.GetJobExecutionRequest(id=i)) for i in ids]
    for stream in streams:  # the first message: the gateway's cache holds the job
        assert (await stream.read()).job_status == pb.TRIGGERED
    start = asyncio.Event()
    t0 = 0.0

    async def streamed(stream: Any) -> float:
        message = await stream.read()
        assert message.job_status == pb.PENDING
        return time.monotonic() - t0

    async def polled(job_id: str) -> float:
        await asyncio.sleep(random.uniform(0, POLL_PERIOD))  # a poller's phase is arbitrary
        while True:
            got = await prow.GetJobExecution(pb.GetJobExecutionRequest(id=job_id))
            if got.job_status == pb.PENDING and start.is_set():
                return time.monotonic() - t0
            await asyncio.sleep(POLL_PERIOD)

    stream_tasks = [asyncio.create_task(streamed(s)) for s in streams]
    poll_tasks = [asyncio.create_task(polled(i)) for i in ids]
    await asyncio.sleep(POLL_PERIOD)  # every poller has started its cycle
    t0 = time.monotonic()
    start.set()
    await prow.BulkJobStatusChange(
        pb.BulkJobStatusChangeRequest(
            job_status_change=pb.JobStatusChange(current=pb.TRIGGERED, desired=pb.PENDING)
        )
    )
    pushed = await asyncio.gather(*stream_tasks)
    polled_delays = await asyncio.gather(*poll_tasks)
    for stream in streams:
        stream.cancel()
    return pushed, polled_delays


async def main(args: argparse.Namespace) -> None:
    pb, stubs = codegen.generated()
    http_port, grpc_port = _port(), _port()
    process = await _start(http_port, grpc_port)
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=30) as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
        ):
            prow = stubs.ProwStub(channel)
            await create_latency(http, prow, pb, 5)  # warm-up
            created = await create_latency(http, prow, pb, args.creates)
            pushed: list[float] = []
            polled: list[float] = []
            for _ in range(args.rounds):
                p, q = await change_latency(prow, pb, args.jobs)
                pushed += p
                polled += q
    finally:
        process.terminate()
        await process.wait()
    n = len(pushed)
    print(f"create → TRIGGERED answer, p50 of {args.creates}:")
    print(f"  REST POST /v1/executions     {created['rest']:8.2f} ms")
    print(f"  gRPC CreateJobExecution      {created['grpc']:8.2f} ms")
    print(f"status change → client, {n} changes ({args.rounds} rounds of {args.jobs} jobs):")
    for name, values in (("WatchJobExecution stream", pushed),
                         (f"GetJobExecution every {POLL_PERIOD:g} s", polled)):  # fmt: skip
        p50, p99 = percentile(values, 50) * 1e3, percentile(values, 99) * 1e3
        print(f"  {name:28} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=10, help="jobs per round")
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
