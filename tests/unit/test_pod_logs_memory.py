"""MemoryPodLogs (the embedded pod logs), SimulatedTestLog and the dashboard's link rule."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from prow_graphql.errors import ObjectNotFound
from prow_graphql.settings import parse_serve_args
from prow_graphql.store.pod_logs import MemoryPodLogs
from prow_graphql.store.sim_log import SimulatedTestLog
from prow_graphql.web.links import is_real_base, page_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prow" / "config.yaml"


async def collect(logs: MemoryPodLogs, pod: str) -> list[list[str]]:
    return [batch async for batch in logs.stream("default", "ns", pod, "test")]


async def test_a_follower_gets_the_lines_so_far_then_new_ones_until_the_end() -> None:
    logs = MemoryPodLogs()
    logs.write("ns", "p", "test", "one")
    batches: list[list[str]] = []

    async def follow() -> None:
        async for batch in logs.stream("default", "ns", "p", "test"):
            batches.append(batch)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0)
    logs.write("ns", "p", "test", "two")
    logs.write("ns", "p", "test", "three")
    await asyncio.sleep(0)
    logs.end("ns", "p", "test")
    await asyncio.wait_for(task, 1)
    assert [line for b in batches for line in b] == ["one", "two", "three"]
    assert batches[0] == ["one"]
    # after the end: everything at once, then the stream ends
    assert await collect(logs, "p") == [["one", "two", "three"]]


async def test_unknown_and_evicted_pods_are_not_found() -> None:
    logs = MemoryPodLogs(max_pods=2)
    with pytest.raises(ObjectNotFound):
        await collect(logs, "nope")
    for pod in ("a", "b", "c"):
        logs.write("ns", pod, "test", pod)
    with pytest.raises(ObjectNotFound):
        await collect(logs, "a")  # the oldest pod went, as sinker would delete it
    logs.delete("ns", "b")
    with pytest.raises(ObjectNotFound):
        await collect(logs, "b")
    logs.end("ns", "c", "test")
    assert await collect(logs, "c") == [["c"]]


async def test_simulated_log_reads_like_go_test_and_ends() -> None:
    logs = MemoryPodLogs()
    sim = SimulatedTestLog(logs, "ns")
    sim.start("p", "unit", duration=0.05)
    await asyncio.sleep(0.1)
    sim.finish("p", passed=False)
    lines = [line for batch in await collect(logs, "p") for line in batch]
    assert lines[:2] == ["+ ./hack/run-tests.sh  # unit", "go test -v -count=1 ./..."]
    assert "--- FAIL: TestWatchResume (0.02s)" in lines and lines[-2] == "FAIL"
    sim.start("q", "unit", duration=10)
    sim.abort("q")
    assert (await collect(logs, "q"))[-1][-1] == "Terminated: the ProwJob was aborted"
    await sim.aclose()


@pytest.mark.parametrize(
    ("url", "real"),
    [
        ("https://prow.k8s.io", True),
        ("https://deck.internal.corp:8443/", True),
        ("https://prow.example.com/view/", False),
        ("https://example.org", False),
        ("http://deck.test", False),
        ("https://prow.localhost", False),
        ("ftp://prow.k8s.io", False),
        ("", False),
        (None, False),
    ],
)
def test_real_bases(url: str | None, real: bool) -> None:
    assert is_real_base(url) is real


def test_links_need_a_real_deck_or_a_real_prow() -> None:
    memory = parse_serve_args(["--config-path", str(EXAMPLE), "--backend", "memory"])
    assert not page_settings(memory, "https://prow.k8s.io").spyglass_links  # simulated runs
    assert not page_settings(memory, "https://prow.k8s.io").deck_links
    kube = parse_serve_args(["--config-path", str(EXAMPLE), "--deck-url", "https://prow.k8s.io"])
    both = page_settings(kube, "https://prow.k8s.io")
    assert both.deck_links and both.spyglass_links
    example = page_settings(kube, "https://prow.example.com")
    assert example.deck_links and not example.spyglass_links
