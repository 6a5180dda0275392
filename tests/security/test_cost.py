"""Attack 2: documents that cost far more than their size (fragment bombs, alias fan-out, huge
answers). Each is refused with a typed error naming the limit and its flag, quickly, while
/healthz keeps answering."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.harness import (
    KUBEVIRT,
    RunningGateway,
    example_settings,
    parse_serve_args,
    serve,
    wait_ready,
)
from tests.security.common import HEALTHZ_BOUND, probing

FULL_JOB = (
    "name type cluster namespace labels { key value } annotations { key value } "
    "containers { name image command args env { name value valueFrom } }"
)


def fragment_bomb(levels: int) -> str:
    """~1 KB: each fragment spreads the previous one twice, 2^levels paths in all."""
    parts = ["fragment F0 on Query { config { generation } }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return "{ ..." + f"F{levels}" + " } " + " ".join(parts)


def deep_bomb(levels: int) -> str:
    """Fragments nested through a field, so depth grows too: each level nests and doubles."""
    parts = ["fragment D0 on ProwJobConnection { totalCount }"]
    parts += [
        f"fragment D{i} on ProwJobConnection {{ ...D{i - 1} a: edges {{ cursor }} ...D{i - 1} }}"
        for i in range(1, levels + 1)
    ]
    return "{ prowJobs { ..." + f"D{levels}" + " } } " + " ".join(parts)


@pytest.fixture
async def gateway() -> AsyncIterator[RunningGateway]:
    async with serve(example_settings()) as gw:
        await wait_ready(gw)
        yield gw


async def post(gateway: RunningGateway, query: str) -> tuple[httpx.Response, float]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        started = time.perf_counter()
        response = await client.post("/graphql", json={"query": query})
        return response, time.perf_counter() - started


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body.get("data") is None, body
    extensions: dict[str, Any] = body["errors"][0]["extensions"]
    return extensions


@pytest.mark.parametrize("levels", [20, 30])
async def test_fragment_bomb_is_refused_fast(gateway: RunningGateway, levels: int) -> None:
    query = fragment_bomb(levels)
    assert len(query) < 1500
    async with probing(gateway) as probe:
        response, took = await post(gateway, query)
    ext = refusal(response)
    assert ext["code"] == "QUERY_TOO_COMPLEX" and ext["limit"] == "maxFragmentSpreads"
    assert ext["flag"] == "--max-fragment-spreads" and ext["value"] == 2 ** (levels + 1) - 1
    assert took < HEALTHZ_BOUND, took
    assert probe.worst < HEALTHZ_BOUND, probe.samples
    print(f"fragment bomb 2^{levels}: refused in {took * 1000:.1f} ms, "
          f"worst /healthz {probe.worst * 1000:.1f} ms")  # fmt: skip


async def test_nested_fragment_bomb_is_refused_fast(gateway: RunningGateway) -> None:
    async with probing(gateway) as probe:
        response, took = await post(gateway, deep_bomb(30))
    ext = refusal(response)
    assert ext["code"] == "QUERY_TOO_COMPLEX"
    assert took < HEALTHZ_BOUND and probe.worst < HEALTHZ_BOUND, (took, probe.samples)


async def test_aliases_times_job_definitions_are_refused_before_execution(
    gateway: RunningGateway,
) -> None:
    query = "{ " + " ".join(f"a{i}: periodics {{ {FULL_JOB} }}" for i in range(30)) + " }"
    async with probing(gateway) as probe:
        response, took = await post(gateway, query)
    ext = refusal(response)
    assert ext["limit"] == "maxNodes" and ext["flag"] == "--max-query-nodes"
    assert took < HEALTHZ_BOUND and probe.worst < HEALTHZ_BOUND, (took, probe.samples)
    # The same shape once, as a real client asks it, is fine.
    response, _ = await post(gateway, f"{{ periodics {{ {FULL_JOB} }} }}")
    assert "errors" not in response.json()


async def test_page_sizes_count_in_the_estimate(gateway: RunningGateway) -> None:
    edges = "edges { node { name state refs { pulls { number } } } }"
    many = "{ " + " ".join(f"a{i}: prowJobs(first: 500) {{ {edges} }}" for i in range(25)) + " }"
    ext = refusal((await post(gateway, many))[0])
    assert ext["limit"] == "maxNodes"
    few = "{ " + " ".join(f"a{i}: prowJobs(first: 5) {{ {edges} }}" for i in range(25)) + " }"
    assert "errors" not in (await post(gateway, few))[0].json()


async def test_many_identical_fields_are_bounded(gateway: RunningGateway) -> None:
    # Field merging compares every pair of same-named fields: quadratic in their number.
    query = "{ config { " + "generation " * 1990 + "} }"
    async with probing(gateway) as probe:
        response, took = await post(gateway, query)
    assert response.status_code == 200
    assert took < HEALTHZ_BOUND and probe.worst < HEALTHZ_BOUND, (took, probe.samples)


async def test_response_bytes_are_capped_on_every_transport() -> None:
    settings = example_settings("--max-response-bytes", "1000")
    async with serve(settings) as gw:
        await wait_ready(gw)
        response, _ = await post(gw, f"{{ periodics {{ {FULL_JOB} }} }}")
        ext = refusal(response)
        assert ext["code"] == "RESPONSE_TOO_LARGE" and ext["flag"] == "--max-response-bytes"
        assert len(response.content) < 1000
        assert "errors" not in (await post(gw, "{ config { generation } }"))[0].json()


async def test_largest_legitimate_query_is_validated_quickly(gateway: RunningGateway) -> None:
    # GraphiQL's introspection query is the largest document a real client sends.
    from graphql import get_introspection_query

    response, took = await post(gateway, get_introspection_query(descriptions=True))
    assert "errors" not in response.json() and took < HEALTHZ_BOUND


@pytest.mark.skipif(not KUBEVIRT.is_dir(), reason="needs ../shared/fixtures/prow/kubevirt")
async def test_a_large_config_listing_does_not_stall_the_loop() -> None:
    # ~1,650 real jobs with containers: a 2.3 MB answer, ~0.5 s of work, done off the loop.
    settings = parse_serve_args([
        "--config-path", str(KUBEVIRT / "config.yaml"), "--job-config-path", str(KUBEVIRT / "jobs"),
        "--backend", "memory", "--max-query-nodes", "10000000", "--max-response-bytes", "10000000",
    ])  # fmt: skip
    query = f"{{ repos {{ org repo presubmits {{ {FULL_JOB} }} postsubmits {{ {FULL_JOB} }} }} }}"
    async with serve(settings) as gw:
        await wait_ready(gw)
        async with probing(gw, every=0.02) as probe:
            response, took = await post(gw, query)
        assert "errors" not in response.json() and len(response.content) > 1_000_000
        assert probe.worst < HEALTHZ_BOUND, probe.samples
        print(f"repos with every job: {took * 1000:.0f} ms, worst /healthz "
              f"{probe.worst * 1000:.0f} ms over {len(probe.samples)} samples")  # fmt: skip
