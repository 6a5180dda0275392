"""One scenario list, run against the fake API server and the real one: they must answer alike.

Each scenario speaks raw HTTP to a fresh namespace and returns what matters of every answer (status
code, Status reason, cause reasons and fields, the stored spec and status, list sizes, watch event
types). The test compares the fake's transcript with the real server's; a difference is a bug in
the fake (tests/fakekube), never a reason to loosen the comparison.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fakekube import FakeKubeServer
from tests.realkube import RealKube


@dataclass
class Api:
    http: httpx.AsyncClient
    path: str  # .../namespaces/<ns>/prowjobs


Scenario = Callable[[Api], Awaitable[list[Any]]]


def prowjob(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"type": "periodic", "job": "j", **spec},
        "status": {"state": "triggered", "startTime": "2026-01-02T03:04:05Z"},
    }


def answer(response: httpx.Response) -> dict[str, Any]:
    """What the two servers must agree on in one answer."""
    body = response.json() if response.content else {}
    out: dict[str, Any] = {"code": response.status_code}
    if body.get("kind") == "Status":
        out["reason"] = body.get("reason")
        causes = (body.get("details") or {}).get("causes") or []
        out["causes"] = sorted((c["reason"], c["field"], c["message"]) for c in causes)
        # Several causes are joined in the server's own (map iteration) order: compare them
        # above as a set, and the whole message where there is at most one.
        out["message"] = body.get("message") if len(causes) <= 1 else len(causes)
    elif "spec" in body or "status" in body:
        out["spec"], out["status"] = body.get("spec"), body.get("status")
    elif "items" in body:
        out["names"] = [i["metadata"]["name"] for i in body["items"]]
        out["continues"] = bool(body["metadata"].get("continue"))
    return out


async def create_valid(api: Api) -> list[Any]:
    obj = prowjob(
        "valid",
        unknown_spec_field=1,  # pruned
        pod_spec={"containers": [{"name": "", "image": "i", "ports": [{"containerPort": 80}]}]},
    )
    obj["status"]["unknown_status_field"] = "x"
    return [answer(await api.http.post(api.path, json=obj))]


INVALID_SPECS: list[dict[str, Any]] = [
    {"type": "nightly"},
    {"job": None},
    {"report": "yes", "max_concurrency": -1},
    {
        "pod_spec": {
            "containers": [
                {
                    "image": "i",
                    "command": ["a", None, 3],
                    "env": [{"name": "A", "value": 1}, {"name": "B", "value": True}],
                    "resources": {"limits": {"cpu": 0.5, "memory": "1 Gi"}, "requests": {"cpu": 2}},
                    "ports": [{"containerPort": 80}, {"containerPort": 80}],
                }
            ]
        }
    },
    {"pod_spec": {}},
    {"pod_spec": "a string"},
]


async def create_invalid(api: Api) -> list[Any]:
    out = []
    for index, spec in enumerate(INVALID_SPECS):
        obj = prowjob(f"invalid-{index}")
        obj["spec"].update(spec)
        obj["spec"] = {k: v for k, v in obj["spec"].items() if v is not None}
        out.append(answer(await api.http.post(api.path, json=obj)))
    for status in ({"state": "success"}, {"state": "weird"}, {"description": "no state"},
                   {"state": "triggered", "startTime": "yesterday"}):  # fmt: skip
        obj = prowjob("invalid-status")
        obj["status"] = status
        out.append(answer(await api.http.post(api.path, json=obj)))
    return out


async def get_missing(api: Api) -> list[Any]:
    response = await api.http.get(f"{api.path}/missing")
    body = response.json()
    return [answer(response), body["details"], body["message"]]


async def conflicts(api: Api) -> list[Any]:
    first = await api.http.post(api.path, json=prowjob("twice"))
    again = await api.http.post(api.path, json=prowjob("twice"))
    stale = await api.http.patch(
        f"{api.path}/twice",
        json={"metadata": {"resourceVersion": "1"}, "status": {"state": "pending"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    return [answer(first)["code"], answer(again), again.json()["message"], answer(stale)]


async def merge_patch(api: Api) -> list[Any]:
    await api.http.post(api.path, json=prowjob("patched"))
    headers = {"Content-Type": "application/merge-patch+json"}
    good = await api.http.patch(
        f"{api.path}/patched",
        json={"status": {"state": "pending", "pod_name": "p", "bogus": 1}, "spec": {"bogus": 2}},
        headers=headers,
    )
    bad = await api.http.patch(
        f"{api.path}/patched", json={"status": {"state": "success"}}, headers=headers
    )
    done = await api.http.patch(
        f"{api.path}/patched",
        json={"status": {"state": "success", "completionTime": "2026-01-02T03:05:00Z"}},
        headers=headers,
    )
    missing = await api.http.patch(f"{api.path}/nope", json={}, headers=headers)
    return [answer(good), answer(bad), answer(done), answer(missing)]


async def list_pages(api: Api) -> list[Any]:
    for name in ("page-a", "page-b", "page-c"):
        await api.http.post(api.path, json=prowjob(name))
    first = await api.http.get(api.path, params={"limit": "2"})
    token = first.json()["metadata"]["continue"]
    second = await api.http.get(api.path, params={"limit": "2", "continue": token})
    bad = await api.http.get(api.path, params={"limit": "2", "continue": "garbage"})
    return [answer(first), answer(second), answer(bad)["code"]]


async def list_from_cache(api: Api) -> list[Any]:
    """resourceVersion=0 (client-go's first list) ignores limit; the body's top-level keys come
    sorted, metadata last with an empty continue — store/list_stream reads it from there."""
    for name in ("cache-a", "cache-b", "cache-c"):
        await api.http.post(api.path, json=prowjob(name))
    # The real watch cache may lag the last writes by a moment ("any recent state"): ask again
    # (bounded) until it has caught up, so that both servers are compared on the same state.
    for _ in range(50):
        whole = await api.http.get(api.path, params={"resourceVersion": "0", "limit": "1"})
        if whole.status_code != 200 or len(whole.json()["items"]) == 3:
            break
        await asyncio.sleep(0.1)
    paged = await api.http.get(api.path, params={"limit": "1"})
    shapes = []
    for response in (whole, paged):
        body = response.json()
        shapes.append(
            (list(body), list(body["metadata"]), response.content.rstrip().endswith(b"}}"))
        )
    # The watch cache answers in map order: compare which items, not their order.
    whole_answer = answer(whole)
    whole_answer["names"] = sorted(whole_answer["names"])
    return [whole_answer, answer(paged), shapes]


async def watch_too_old(api: Api) -> list[Any]:
    await api.http.post(api.path, json=prowjob("watched"))
    params = {"watch": "1", "resourceVersion": "1", "timeoutSeconds": "2"}
    async with api.http.stream("GET", api.path, params=params) as response:
        lines = [json.loads(line) async for line in response.aiter_lines() if line.strip()]
    event = lines[0]
    status = event["object"]
    return [
        response.status_code,
        event["type"],
        status["code"],
        status["reason"],
        status["message"].startswith("too old resource version: 1 ("),
    ]


async def label_selectors(api: Api) -> list[Any]:
    await api.http.post(api.path, json=prowjob("sel-x", {"a": "x", "b": "1"}))
    await api.http.post(api.path, json=prowjob("sel-y", {"a": "y"}))
    await api.http.post(api.path, json=prowjob("sel-none"))
    out = []
    for selector in ("a=x", "a!=x", "a in (x,y)", "a notin (x)", "!a", "a,b", "b=1,a=x", "a=(x"):
        response = await api.http.get(api.path, params={"labelSelector": selector})
        got = answer(response)
        out.append((selector, sorted(got.get("names", [])), got["code"], got.get("reason")))
    return out


SCENARIOS: dict[str, Scenario] = {
    "create valid (pruned, defaulted)": create_valid,
    "create invalid": create_invalid,
    "get missing": get_missing,
    "conflict": conflicts,
    "merge patch": merge_patch,
    "list with limit and continue": list_pages,
    "list at resourceVersion 0": list_from_cache,
    "watch from a too-old resourceVersion": watch_too_old,
    "label selectors": label_selectors,
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(namespace="prow", bookmark_interval=None) as server:
        yield server


async def run_on_fake(fake: FakeKubeServer, scenario: Scenario, namespace: str) -> list[Any]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with httpx.AsyncClient(base_url=fake.url, headers=headers, timeout=10) as http:
        return await scenario(Api(http, f"/apis/prow.k8s.io/v1/namespaces/{namespace}/prowjobs"))


async def run_on_real(realkube: RealKube, scenario: Scenario, namespace: str) -> list[Any]:
    async with realkube.async_client(timeout=10) as http:
        return await scenario(Api(http, f"/apis/prow.k8s.io/v1/namespaces/{namespace}/prowjobs"))


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_the_fake_answers_as_the_real_api_server(
    name: str, fake: FakeKubeServer, realkube: RealKube
) -> None:
    namespace = realkube.new_namespace("agree")
    real = await run_on_real(realkube, SCENARIOS[name], namespace)
    faked = await run_on_fake(fake, SCENARIOS[name], namespace)
    assert faked == real
