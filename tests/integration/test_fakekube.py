"""The fake kube-apiserver speaks the Kubernetes wire format, checked with raw HTTP over sockets."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fakekube import FakeKubeServer

NS = "prow"
PATH = f"/apis/prow.k8s.io/v1/namespaces/{NS}/prowjobs"


def prowjob(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": labels},
        "spec": {"job": "periodic-ci", "type": "periodic"},
        "status": {"state": "triggered", "startTime": "2026-01-01T00:00:00Z"},
    }


def failure(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        body["details"] = details
    body["code"] = code
    return body


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(namespace=NS, bookmark_interval=None) as server:
        yield server


@pytest.fixture
async def http(kube: FakeKubeServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {kube.token}"}
    async with httpx.AsyncClient(base_url=kube.url, headers=headers, timeout=5) as client:
        yield client


async def watch_lines(
    http: httpx.AsyncClient, params: dict[str, str], count: int | None = None
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """Read a watch stream: `count` lines, or to its end when count is None."""
    lines: list[dict[str, Any]] = []
    async with http.stream("GET", PATH, params={"watch": "true", **params}) as response:
        async for line in response.aiter_lines():
            lines.append(json.loads(line))
            if count is not None and len(lines) == count:
                break
    return response, lines


async def test_create_answers_201_with_server_metadata(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    response = await http.post(PATH, json=prowjob("job-a"))
    assert response.status_code == 201
    meta = response.json()["metadata"]
    assert meta["namespace"] == NS
    assert meta["resourceVersion"] == "1001"
    assert meta["generation"] == 1
    assert len(meta["uid"]) == 36
    assert kube.objects["job-a"]["status"]["state"] == "triggered"


async def test_create_twice_answers_409_already_exists_status(http: httpx.AsyncClient) -> None:
    await http.post(PATH, json=prowjob("job-a"))
    response = await http.post(PATH, json=prowjob("job-a"))
    assert response.status_code == 409
    assert response.json() == failure(
        409,
        "AlreadyExists",
        'prowjobs.prow.k8s.io "job-a" already exists',
        name="job-a",
        group="prow.k8s.io",
        kind="prowjobs",
    )


async def test_get_missing_answers_404_not_found_status(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{PATH}/nope")
    assert response.status_code == 404
    assert response.json() == failure(
        404,
        "NotFound",
        'prowjobs.prow.k8s.io "nope" not found',
        name="nope",
        group="prow.k8s.io",
        kind="prowjobs",
    )


async def test_wrong_or_missing_token_answers_401(kube: FakeKubeServer) -> None:
    async with httpx.AsyncClient(base_url=kube.url) as anonymous:
        missing = await anonymous.get(PATH)
        wrong = await anonymous.get(PATH, headers={"Authorization": "Bearer wrong"})
        version = await anonymous.get("/version")
    assert missing.status_code == wrong.status_code == 401
    assert wrong.json() == failure(401, "Unauthorized", "Unauthorized")
    assert version.status_code == 200
    assert version.json()["gitVersion"] == "v1.31.0-fakekube"
    assert kube.counts["list"] == 0  # unauthenticated requests are not API load


async def test_create_validates_the_prowjob_schema(http: httpx.AsyncClient) -> None:
    bad_type = prowjob("job-a")
    bad_type["spec"]["type"] = "nightly"
    done_without_completion = prowjob("job-b")
    done_without_completion["status"] = {"state": "success"}

    first = await http.post(PATH, json=bad_type)
    second = await http.post(PATH, json=done_without_completion)

    assert (first.status_code, first.json()["reason"]) == (422, "Invalid")
    assert first.json()["details"]["causes"][0]["field"] == "spec.type"
    assert second.status_code == 422
    # The CRD says it with an anyOf/not on status, which the API server reports at "<nil>".
    assert [c["field"] for c in second.json()["details"]["causes"]] == ["<nil>", "<nil>"]


async def test_list_paginates_over_a_consistent_snapshot(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    for name in ("job-c", "job-a", "job-e", "job-b", "job-d"):
        kube.create_object(prowjob(name))
    first = (await http.get(PATH, params={"limit": "2"})).json()
    kube.set_status("job-e", {"state": "pending"})  # after the first page: not in the snapshot
    kube.delete("job-c")
    second = await http.get(PATH, params={"limit": "2", "continue": first["metadata"]["continue"]})
    third = await http.get(
        PATH, params={"limit": "2", "continue": second.json()["metadata"]["continue"]}
    )

    assert first["apiVersion"] == "prow.k8s.io/v1"
    assert first["kind"] == "ProwJobList"
    assert first["metadata"]["resourceVersion"] == "1005"
    assert first["metadata"]["remainingItemCount"] == 3
    assert [i["metadata"]["name"] for i in first["items"]] == ["job-a", "job-b"]
    assert [i["metadata"]["name"] for i in second.json()["items"]] == ["job-c", "job-d"]
    assert second.json()["metadata"]["resourceVersion"] == "1005"
    assert [i["metadata"]["name"] for i in third.json()["items"]] == ["job-e"]
    assert third.json()["items"][0]["status"]["state"] == "triggered"
    assert third.json()["metadata"]["continue"] == ""  # as the real API server's last page


async def test_list_filters_by_label_selector(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.create_object(prowjob("job-a", **{"prow.k8s.io/type": "periodic"}))
    kube.create_object(prowjob("job-b", **{"prow.k8s.io/type": "presubmit"}))
    kube.create_object(prowjob("job-c"))

    selected = await http.get(PATH, params={"labelSelector": "prow.k8s.io/type in (presubmit)"})
    negated = await http.get(PATH, params={"labelSelector": "!prow.k8s.io/type"})
    broken = await http.get(PATH, params={"labelSelector": "a in (b"})

    assert [i["metadata"]["name"] for i in selected.json()["items"]] == ["job-b"]
    assert [i["metadata"]["name"] for i in negated.json()["items"]] == ["job-c"]
    assert broken.status_code == 400


async def test_expired_continue_token_answers_410(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    for name in ("job-a", "job-b", "job-c"):
        kube.create_object(prowjob(name))
    first = (await http.get(PATH, params={"limit": "1"})).json()
    kube.set_status("job-a", {"state": "pending"})
    kube.compact()

    response = await http.get(PATH, params={"continue": first["metadata"]["continue"]})

    assert response.status_code == 410
    assert response.json()["reason"] == "Expired"
    assert response.json()["message"].startswith("The provided continue parameter is too old")


async def test_namespaces_are_isolated(kube: FakeKubeServer, http: httpx.AsyncClient) -> None:
    kube.create_object(prowjob("job-a"), namespace="other")
    assert (await http.get(f"{PATH}/job-a")).status_code == 404
    assert (await http.get(PATH)).json()["items"] == []
    other = await http.get("/apis/prow.k8s.io/v1/namespaces/other/prowjobs/job-a")
    assert other.json()["metadata"]["namespace"] == "other"


async def test_watch_is_a_chunked_stream_of_json_lines_that_ends_at_its_timeout(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    start = kube.resource_version
    kube.create_object(prowjob("job-a"))
    kube.set_status("job-a", {"state": "pending"})
    kube.delete("job-a")
    kube.create_object(prowjob("elsewhere"), namespace="other")

    began = time.monotonic()
    response, lines = await watch_lines(http, {"resourceVersion": start, "timeoutSeconds": "1"})

    assert 0.9 < time.monotonic() - began < 1.9
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["transfer-encoding"] == "chunked"
    assert [(e["type"], e["object"]["metadata"]["resourceVersion"]) for e in lines] == [
        ("ADDED", "1001"),
        ("MODIFIED", "1002"),
        ("DELETED", "1003"),
    ]
    assert lines[1]["object"]["status"]["state"] == "pending"


async def test_watch_delivers_live_changes_and_label_transitions(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.create_object(prowjob("job-a", team="x"))
    params = {"resourceVersion": kube.resource_version, "labelSelector": "team=x"}
    async with http.stream("GET", PATH, params={"watch": "1", **params}) as response:
        await kube.wait_for(lambda: kube.open_watches == 1)
        kube.patch_object("job-a", {"metadata": {"labels": {"team": "y"}}})  # leaves the selector
        kube.patch_object("job-a", {"metadata": {"labels": {"team": "x"}}})  # comes back
        lines = response.aiter_lines()
        left = json.loads(await anext(lines))
        back = json.loads(await anext(lines))
    assert (left["type"], left["object"]["metadata"]["resourceVersion"]) == ("DELETED", "1002")
    assert (back["type"], back["object"]["metadata"]["resourceVersion"]) == ("ADDED", "1003")


async def test_bookmarks_carry_only_the_resource_version(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.create_object(prowjob("job-a"))
    params = {"watch": "true", "resourceVersion": kube.resource_version}
    async with (
        http.stream("GET", PATH, params={**params, "allowWatchBookmarks": "true"}) as with_bm,
        http.stream("GET", PATH, params=params),
    ):
        await kube.wait_for(lambda: kube.open_watches == 2)
        sent = kube.send_bookmarks()
        line = await anext(with_bm.aiter_lines())
    assert sent == 1
    assert json.loads(line) == {
        "type": "BOOKMARK",
        "object": {
            "apiVersion": "prow.k8s.io/v1",
            "kind": "ProwJob",
            "metadata": {"resourceVersion": "1001"},
        },
    }


async def test_too_old_watch_gets_http_200_and_one_410_error_event(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    old = kube.resource_version
    kube.create_object(prowjob("job-a"))
    kube.set_status("job-a", {"state": "pending"})
    kube.compact()

    response, lines = await watch_lines(http, {"resourceVersion": old})

    assert response.status_code == 200
    assert lines == [
        {
            "type": "ERROR",
            "object": failure(410, "Expired", "too old resource version: 1000 (1002)"),
        }
    ]


async def test_history_is_bounded() -> None:
    async with FakeKubeServer(namespace=NS, history_limit=2) as kube:
        old = kube.resource_version
        for name in ("job-a", "job-b", "job-c"):
            kube.create_object(prowjob(name))
        async with httpx.AsyncClient(
            base_url=kube.url, headers={"Authorization": f"Bearer {kube.token}"}
        ) as client:
            _, expired = await watch_lines(client, {"resourceVersion": old})
            _, resumed = await watch_lines(client, {"resourceVersion": "1001"}, count=2)
    assert expired[0]["object"]["message"] == "too old resource version: 1000 (1001)"
    assert [e["object"]["metadata"]["name"] for e in resumed] == ["job-b", "job-c"]


async def test_expire_watches_sends_an_error_event_and_ends_the_stream(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    lines: list[dict[str, Any]] = []
    params = {"watch": "true", "resourceVersion": kube.resource_version}
    async with http.stream("GET", PATH, params=params) as response:
        await kube.wait_for(lambda: kube.open_watches == 1)
        assert kube.expire_watches() == 1
        async for line in response.aiter_lines():
            lines.append(json.loads(line))
    assert [(e["type"], e["object"]["code"], e["object"]["reason"]) for e in lines] == [
        ("ERROR", 410, "Expired")
    ]


async def test_cut_watches_drops_the_connection_mid_stream(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    params = {"watch": "true", "resourceVersion": kube.resource_version}
    async with http.stream("GET", PATH, params=params) as response:
        await kube.wait_for(lambda: kube.open_watches == 1)
        kube.create_object(prowjob("job-a"))
        lines = response.aiter_lines()
        assert json.loads(await anext(lines))["type"] == "ADDED"
        assert kube.cut_watches() == 1
        with pytest.raises(httpx.RemoteProtocolError):
            await anext(lines)
    await kube.wait_for(lambda: kube.open_watches == 0)


async def test_merge_patch_updates_and_other_patch_types_answer_415(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.create_object(prowjob("job-a"))
    patch = json.dumps({"status": {"state": "aborted", "description": None}}).encode()

    merged = await http.patch(
        f"{PATH}/job-a", content=patch, headers={"Content-Type": "application/merge-patch+json"}
    )
    unsupported = {}
    for content_type in ("application/json-patch+json", "application/json"):
        response = await http.patch(
            f"{PATH}/job-a", content=patch, headers={"Content-Type": content_type}
        )
        unsupported[content_type] = (response.status_code, response.json()["reason"])

    assert merged.status_code == 200
    assert merged.json()["status"] == {"state": "aborted", "startTime": "2026-01-01T00:00:00Z"}
    assert merged.json()["metadata"]["resourceVersion"] == "1002"
    assert merged.json()["metadata"]["generation"] == 2
    assert unsupported == {
        "application/json-patch+json": (415, "UnsupportedMediaType"),
        "application/json": (415, "UnsupportedMediaType"),
    }


async def test_merge_patch_with_stale_resource_version_conflicts(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.create_object(prowjob("job-a"))
    kube.set_status("job-a", {"state": "pending"})
    stale = {"metadata": {"resourceVersion": "1001"}, "status": {"state": "aborted"}}

    response = await http.patch(
        f"{PATH}/job-a",
        content=json.dumps(stale).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )

    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert kube.objects["job-a"]["status"]["state"] == "pending"


async def test_put_checks_the_resource_version(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    created = kube.create_object(prowjob("job-a"))
    kube.set_status("job-a", {"state": "pending"})
    stale = await http.put(f"{PATH}/job-a", json=created)
    missing = dict(created, metadata={"name": "job-a"})
    unversioned = await http.put(f"{PATH}/job-a", json=missing)
    current = kube.objects["job-a"]
    current["status"]["state"] = "aborted"
    replaced = await http.put(f"{PATH}/job-a", json=current)

    assert stale.status_code == 409
    assert stale.json()["message"] == (
        'Operation cannot be fulfilled on prowjobs.prow.k8s.io "job-a": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    assert unversioned.status_code == 422
    assert replaced.status_code == 200
    assert replaced.json()["metadata"]["resourceVersion"] == "1003"


async def test_fail_next_answers_status_for_n_requests_of_a_verb(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.fail_next(2, status=503, verb="list")
    got = await http.get(f"{PATH}/job-a")  # a get: not the failing verb
    first, second, third = [await http.get(PATH) for _ in range(3)]
    assert got.status_code == 404
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json()["reason"] == "ServiceUnavailable"
    assert kube.counts == {"get": 1, "list": 3}


async def test_delay_slows_answers(kube: FakeKubeServer, http: httpx.AsyncClient) -> None:
    kube.delay(0.3)
    began = time.monotonic()
    response = await http.get(PATH)
    kube.delay(0)
    assert response.status_code == 200
    assert time.monotonic() - began >= 0.3


async def test_restart_keeps_the_port_and_the_state(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.create_object(prowjob("job-a"))
    url = kube.url
    await kube.stop()
    with pytest.raises(httpx.ConnectError):
        await http.get(PATH)
    await kube.start()
    response = await http.get(f"{PATH}/job-a")
    assert kube.url == url
    assert response.status_code == 200
    assert response.json()["metadata"]["resourceVersion"] == "1001"


async def test_discovery_documents(http: httpx.AsyncClient) -> None:
    groups = (await http.get("/apis")).json()
    resources = (await http.get("/apis/prow.k8s.io/v1")).json()
    unknown = await http.get("/apis/batch/v1/jobs")
    assert [g["name"] for g in groups["groups"]] == ["prow.k8s.io"]
    assert [(r["name"], r["kind"]) for r in resources["resources"]] == [("prowjobs", "ProwJob")]
    assert unknown.status_code == 404


def test_write_kubeconfig_names_server_token_and_namespace(tmp_path: Path) -> None:
    kube = FakeKubeServer(namespace=NS, token="sekret")
    kube.port = 4321
    path = kube.write_kubeconfig(tmp_path / "config")
    config = yaml.safe_load(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "http://127.0.0.1:4321"
    assert config["users"][0]["user"]["token"] == "sekret"
    assert config["contexts"][0]["context"]["namespace"] == NS
    assert config["current-context"] == "fakekube"
