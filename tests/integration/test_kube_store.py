"""KubeStore (kubernetes_asyncio) against the fake API server, through a real kubeconfig."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.errors import BackendForbidden, Conflict, Gone, ObjectNotFound, Unavailable
from prow_graphql.store.base import EventType, WatchEvent
from prow_graphql.store.kube import KubeStore, connect
from tests.fakekube import FakeKubeServer

NS = "prow"


def prowjob(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": labels},
        "spec": {"job": "periodic-ci", "type": "periodic"},
        "status": {"state": "triggered", "startTime": "2026-01-01T00:00:00Z"},
    }


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(namespace=NS, bookmark_interval=None) as server:
        yield server


@pytest.fixture
async def store(kube: FakeKubeServer, tmp_path: Path) -> AsyncIterator[KubeStore]:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    async with await connect(str(kubeconfig), None, NS, watch_read_slack=0.3) as kube_store:
        yield kube_store


async def take(stream: AsyncIterator[WatchEvent], count: int) -> list[WatchEvent]:
    """The next `count` events (bounded in time)."""
    async with asyncio.timeout(3):
        return [await anext(stream) for _ in range(count)]


async def drain(stream: AsyncIterator[WatchEvent]) -> list[WatchEvent]:
    """All events until the stream ends (bounded in time)."""
    async with asyncio.timeout(3):
        return [event async for event in stream]


async def test_create_fills_the_namespace_and_get_reads_it_back(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    created = await store.create(prowjob("job-a"))
    fetched = await store.get("job-a")
    assert created["metadata"]["namespace"] == NS
    assert created["metadata"]["resourceVersion"] == "1001"
    assert fetched == created
    assert kube.counts == {"create": 1, "get": 1}


async def test_create_refuses_another_namespace(store: KubeStore) -> None:
    obj = prowjob("job-a")
    obj["metadata"]["namespace"] = "elsewhere"
    with pytest.raises(ValueError, match="elsewhere"):
        await store.create(obj)


async def test_create_existing_name_is_conflict(store: KubeStore) -> None:
    await store.create(prowjob("job-a"))
    with pytest.raises(Conflict, match=r'prowjobs\.prow\.k8s\.io "job-a" already exists') as caught:
        await store.create(prowjob("job-a"))
    assert "HTTP 409" in str(caught.value)
    assert caught.value.__cause__ is not None


async def test_get_missing_is_object_not_found(store: KubeStore) -> None:
    with pytest.raises(ObjectNotFound, match='"nope" not found'):
        await store.get("nope")


async def test_list_pages_through_everything_at_one_resource_version(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    for name in ("job-e", "job-d", "job-c", "job-b", "job-a"):
        kube.create_object(prowjob(name, team="x" if name != "job-c" else "y"))
    pages = [await store.list(limit=2)]
    while pages[-1].continue_token is not None and len(pages) < 10:
        pages.append(await store.list(limit=2, continue_token=pages[-1].continue_token))
    selected = await store.list(label_selector="team=y")

    assert [[o["metadata"]["name"] for o in p.items] for p in pages] == [
        ["job-a", "job-b"],
        ["job-c", "job-d"],
        ["job-e"],
    ]
    assert {p.resource_version for p in pages} == {"1005"}
    assert [o["metadata"]["name"] for o in selected.items] == ["job-c"]
    assert selected.continue_token is None
    assert kube.requests[-1].query["labelSelector"] == "team=y"


async def test_list_each_streams_a_whole_list_from_the_cache(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    # ~1 MiB of list: many reads of the body, items decoded while it arrives.
    for i in range(1200):
        obj = prowjob(f"job-{i:04d}", team="a")
        obj["status"]["description"] = "r\u00e9ussi \u2713 " * (i % 7)  # multi-byte UTF-8
        kube.create_object(obj)
    seen: list[dict[str, Any]] = []
    list_rv = await store.list_each(seen.append)
    pages = [await store.list(limit=500)]
    while pages[-1].continue_token is not None and len(pages) < 10:
        pages.append(await store.list(limit=500, continue_token=pages[-1].continue_token))

    by_name = {item["metadata"]["name"]: item for page in pages for item in page.items}
    assert {item["metadata"]["name"]: item for item in seen} == by_name
    assert len(seen) == 1200
    assert list_rv == pages[0].resource_version == kube.resource_version
    first = next(r for r in kube.requests if r.verb == "list")
    assert first.query.get("resourceVersion") == "0"
    assert "limit" not in first.query


async def test_a_list_body_cut_midway_is_unavailable(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    for i in range(300):
        kube.create_object(prowjob(f"job-{i:03d}"))
    kube.cut_next_lists(1)
    seen: list[dict[str, Any]] = []
    with pytest.raises(Unavailable):
        await store.list_each(seen.append)
    assert 0 < len(seen) < 300  # items came before the cut; the caller must not keep them
    seen.clear()
    assert await store.list_each(seen.append) == kube.resource_version
    assert len(seen) == 300


async def test_list_each_refusals_are_typed(kube: FakeKubeServer, store: KubeStore) -> None:
    kube.fail_next(1, status=503, verb="list")
    with pytest.raises(Unavailable, match="injected 503"):
        await store.list_each(lambda item: None)
    kube.fail_next(1, status=410, verb="list")
    with pytest.raises(Gone):
        await store.list_each(lambda item: None)


async def test_expired_continue_token_is_gone(kube: FakeKubeServer, store: KubeStore) -> None:
    for name in ("job-a", "job-b"):
        kube.create_object(prowjob(name))
    page = await store.list(limit=1)
    kube.set_status("job-a", {"state": "pending"})
    kube.compact()
    with pytest.raises(Gone, match="continue parameter is too old"):
        await store.list(limit=1, continue_token=page.continue_token)


async def test_watch_replays_from_a_resource_version_and_resumes(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    start = (await store.list()).resource_version
    kube.create_object(prowjob("job-a"))
    kube.set_status("job-a", {"state": "pending"})
    stream = store.watch(start, timeout_seconds=5)
    first = await take(stream, 2)
    await stream.aclose()  # type: ignore[attr-defined]

    kube.set_status("job-a", {"state": "aborted"})
    resumed = store.watch(first[-1].resource_version, timeout_seconds=5)
    [after] = await take(resumed, 1)
    await resumed.aclose()  # type: ignore[attr-defined]

    assert [(e.type, e.resource_version) for e in first] == [
        (EventType.ADDED, "1001"),
        (EventType.MODIFIED, "1002"),
    ]
    assert first[1].object["status"]["state"] == "pending"
    assert (after.type, after.resource_version) == (EventType.MODIFIED, "1003")
    assert after.object["status"]["state"] == "aborted"
    await kube.wait_for(lambda: kube.open_watches == 0)


async def test_watch_sends_its_options_and_yields_bookmarks(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    kube.create_object(prowjob("job-a"))
    stream = store.watch(kube.resource_version, timeout_seconds=7)
    pending = asyncio.ensure_future(anext(stream))
    await kube.wait_for(lambda: kube.open_watches == 1)
    kube.delete("job-a")
    kube.send_bookmarks()
    deleted = await pending
    [bookmark] = await take(stream, 1)
    await stream.aclose()  # type: ignore[attr-defined]

    watch = next(r for r in kube.requests if r.verb == "watch")
    assert watch.query == {
        "allowWatchBookmarks": "True",
        "resourceVersion": "1001",
        "timeoutSeconds": "7",
        "watch": "True",
    }
    assert (deleted.type, deleted.resource_version) == (EventType.DELETED, "1002")
    assert (bookmark.type, bookmark.resource_version) == (EventType.BOOKMARK, "1002")


async def test_watch_without_a_resource_version_is_refused(store: KubeStore) -> None:
    for bad in ("", "0"):
        with pytest.raises(ValueError, match="resourceVersion"):
            store.watch(bad)


async def test_watch_ends_normally_at_its_server_side_timeout(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    began = time.monotonic()
    events = await drain(store.watch(kube.resource_version, timeout_seconds=1))
    assert events == []
    # No Unavailable: the server ended it before the client read timeout (1 s + 0.3 s slack).
    assert 0.9 < time.monotonic() - began < 1.9


async def test_too_old_watch_error_event_is_gone(kube: FakeKubeServer, store: KubeStore) -> None:
    old = kube.resource_version
    kube.create_object(prowjob("job-a"))
    kube.compact()
    with pytest.raises(Gone, match=r"too old resource version: 1000 \(1001\)"):
        await drain(store.watch(old, timeout_seconds=5))


async def test_http_410_on_watch_is_gone(kube: FakeKubeServer, store: KubeStore) -> None:
    kube.fail_next(1, status=410, verb="watch")
    with pytest.raises(Gone, match="HTTP 410"):
        await drain(store.watch(kube.resource_version, timeout_seconds=5))


async def test_expiry_of_an_open_watch_is_gone_after_earlier_events(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    kube.create_object(prowjob("job-a"))
    stream = store.watch("1000", timeout_seconds=5)
    [added] = await take(stream, 1)
    kube.expire_watches()
    with pytest.raises(Gone, match="too old resource version"):
        await take(stream, 1)
    assert added.type is EventType.ADDED


async def test_cut_stream_raises_unavailable_after_the_events_it_delivered(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    # Decision: a stream that breaks without its terminating chunk is a transport failure
    # (Unavailable: back off, then resume from the last event), unlike a server-side end.
    kube.create_object(prowjob("job-a"))
    stream = store.watch("1000", timeout_seconds=5)
    [added] = await take(stream, 1)
    kube.cut_watches()
    with pytest.raises(Unavailable, match="not completed"):
        await take(stream, 1)
    assert added.resource_version == "1001"


async def test_silent_stream_hits_the_client_read_timeout(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    kube.stall_watches()
    began = time.monotonic()
    with pytest.raises(Unavailable, match="unreachable"):
        await drain(store.watch(kube.resource_version, timeout_seconds=1))
    assert 1.2 < time.monotonic() - began < 2.0  # timeout_seconds + watch_read_slack (0.3)
    kube.stall_watches(False)
    kube.cut_watches()


async def test_merge_patch_goes_out_as_merge_patch(kube: FakeKubeServer, store: KubeStore) -> None:
    kube.create_object(prowjob("job-a"))
    patched = await store.patch("job-a", {"status": {"state": "aborted", "startTime": None}})
    [request] = [r for r in kube.requests if r.verb == "patch"]
    assert request.content_type == "application/merge-patch+json"
    assert patched["status"] == {"state": "aborted"}
    assert patched["metadata"]["resourceVersion"] == "1002"


async def test_empty_patch_reads_the_object_without_patching(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    kube.create_object(prowjob("job-a"))
    assert (await store.patch("job-a", {}))["metadata"]["resourceVersion"] == "1001"
    assert kube.counts == {"get": 1}


async def test_patch_with_stale_resource_version_is_conflict(
    kube: FakeKubeServer, store: KubeStore
) -> None:
    kube.create_object(prowjob("job-a"))
    kube.set_status("job-a", {"state": "pending"})
    stale = {"metadata": {"resourceVersion": "1001"}, "status": {"state": "aborted"}}
    with pytest.raises(Conflict, match="the object has been modified"):
        await store.patch("job-a", stale)
    with pytest.raises(ObjectNotFound):
        await store.patch("nope", {"status": {"state": "aborted"}})


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_are_unavailable(
    kube: FakeKubeServer, store: KubeStore, status: int
) -> None:
    kube.fail_next(4, status=status)
    with pytest.raises(Unavailable, match=f"injected {status}"):
        await store.get("job-a")
    with pytest.raises(Unavailable):
        await store.list()
    with pytest.raises(Unavailable):
        await store.create(prowjob("job-a"))
    with pytest.raises(Unavailable):
        await drain(store.watch(kube.resource_version, timeout_seconds=1))
    assert kube.objects == {}


async def test_wrong_token_is_backend_forbidden(kube: FakeKubeServer, tmp_path: Path) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", token="wrong")
    async with await connect(str(kubeconfig), None, NS) as store:
        with pytest.raises(BackendForbidden, match="Unauthorized"):
            await store.list()


async def test_connection_refused_is_unavailable(kube: FakeKubeServer, store: KubeStore) -> None:
    await kube.stop()
    with pytest.raises(Unavailable, match="unreachable"):
        await store.get("job-a")
    with pytest.raises(Unavailable, match="unreachable"):
        await drain(store.watch("1000", timeout_seconds=1))
    await kube.start()
    assert (await store.list()).items == []  # the same client recovers


async def test_slow_answer_hits_the_request_timeout(kube: FakeKubeServer, tmp_path: Path) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    kube.delay(0.5)
    async with await connect(str(kubeconfig), None, NS, request_timeout=0.1) as store:
        with pytest.raises(Unavailable, match="unreachable"):
            await store.get("job-a")
    kube.delay(0)


async def test_a_whole_list_may_take_longer_than_the_request_timeout(
    kube: FakeKubeServer, tmp_path: Path
) -> None:
    # A big namespace's first list takes as long as the API server needs (it gives up itself
    # after its own --request-timeout); ordinary calls keep the short client-side bound.
    kube.create_object(prowjob("job-a"))
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    kube.delay(0.5)
    async with await connect(str(kubeconfig), None, NS, request_timeout=0.1) as store:
        with pytest.raises(Unavailable, match="unreachable"):
            await store.get("job-a")
        seen: list[dict[str, Any]] = []
        assert await store.list_each(seen.append) == kube.resource_version
    kube.delay(0)
    assert [o["metadata"]["name"] for o in seen] == ["job-a"]


async def test_connect_without_any_config_explains_the_flags(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match=r"--kubeconfig.*--backend memory"):
        await connect(None, None, NS, environ={"HOME": str(tmp_path)})
    with pytest.raises(Unavailable, match="no Kubernetes client configuration"):
        await connect(str(tmp_path / "missing"), None, NS, environ={})


async def test_connect_reports_an_unknown_context(kube: FakeKubeServer, tmp_path: Path) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    with pytest.raises(Unavailable, match="nope"):
        await connect(str(kubeconfig), "nope", NS)


async def test_connect_reads_kubeconfig_from_the_environment(
    kube: FakeKubeServer, tmp_path: Path
) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", context="ctx")
    environ = {"KUBECONFIG": f"{tmp_path / 'absent'}:{kubeconfig}"}
    async with await connect(None, "ctx", NS, environ=environ) as store:
        assert (await store.list()).resource_version == "1000"


async def test_connect_prefers_in_cluster_config_inside_a_pod(tmp_path: Path) -> None:
    pod_env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    # No service account token is mounted here, so the in-cluster attempt fails and says so.
    with pytest.raises(Unavailable, match="in-cluster service account"):
        await connect(None, None, NS, environ=pod_env)
