"""MemoryStore (Kubernetes semantics of every verb), label selectors and JSON merge patch."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from prow_graphql.errors import Conflict, Gone, ObjectNotFound, Unavailable
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.store.base import EventType, ProwJobStore, WatchEvent
from prow_graphql.store.memory import MemoryStore
from prow_graphql.store.patch import json_merge_patch
from prow_graphql.store.selectors import Operator, Requirement, SelectorError, parse_selector


def prowjob(name: str, *, state: str = "triggered", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"type": "periodic", "job": "periodic-test", "agent": "kubernetes"},
        "status": {"state": state, "startTime": "2026-01-02T03:04:05Z"},
    }


async def take(events: AsyncIterator[WatchEvent], count: int) -> list[WatchEvent]:
    return [await anext(events) for _ in range(count)]


# -- create / get ------------------------------------------------------------------------------


async def test_create_sets_server_fields_and_versions_increase() -> None:
    store: ProwJobStore = MemoryStore("prow-jobs")  # also checks the protocol (mypy)
    a = await store.create(prowjob("a"))
    b = await store.create(prowjob("b"))
    meta = a["metadata"]
    assert meta["namespace"] == "prow-jobs"
    assert meta["resourceVersion"] == "1"
    assert b["metadata"]["resourceVersion"] == "2"
    assert meta["generation"] == 1
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert meta["uid"] != b["metadata"]["uid"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert await store.get("a") == a


async def test_objects_handed_out_are_copies() -> None:
    store = MemoryStore("ns")
    original = prowjob("a", team="x")
    created = await store.create(original)
    original["metadata"]["labels"]["team"] = "changed-input"
    created["metadata"]["labels"]["team"] = "changed-output"
    fetched = await store.get("a")
    fetched["status"]["state"] = "success"
    again = await store.get("a")
    assert again["metadata"]["labels"] == {"team": "x"}
    assert again["status"]["state"] == "triggered"


async def test_duplicate_name_conflicts_without_a_write() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a"))
    with pytest.raises(Conflict) as info:
        await store.create(prowjob("a"))
    assert info.value.message == 'prowjobs.prow.k8s.io "a" already exists'
    assert store.resource_version == "1"


async def test_get_missing_is_not_found() -> None:
    store = MemoryStore("ns")
    with pytest.raises(ObjectNotFound) as info:
        await store.get("nope")
    assert info.value.message == 'prowjobs.prow.k8s.io "nope" not found'


async def test_create_rejects_missing_name_and_foreign_namespace() -> None:
    store = MemoryStore("ns")
    with pytest.raises(ValueError, match=r"metadata\.name"):
        await store.create({"metadata": {}})
    job = prowjob("a")
    job["metadata"]["namespace"] = "other"
    with pytest.raises(ValueError, match="namespace"):
        await store.create(job)


# -- list ----------------------------------------------------------------------------------------


async def test_list_filters_by_label_selector() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a", type="presubmit", org="kubevirt"))
    await store.create(prowjob("b", type="periodic", org="kubevirt"))
    await store.create(prowjob("c", type="postsubmit"))
    await store.create(prowjob("d"))

    async def names(selector: str) -> list[str]:
        page = await store.list(label_selector=selector)
        return [o["metadata"]["name"] for o in page.items]

    assert await names("") == ["a", "b", "c", "d"]
    assert await names("type=presubmit") == ["a"]
    assert await names("type==periodic") == ["b"]
    assert await names("type!=presubmit") == ["b", "c", "d"]
    assert await names("org") == ["a", "b"]
    assert await names("!org") == ["c", "d"]
    assert await names("type in (presubmit, postsubmit)") == ["a", "c"]
    assert await names("type notin (presubmit,postsubmit)") == ["b", "d"]
    assert await names("org=kubevirt,type!=presubmit") == ["b"]
    assert await names("type in (batch)") == []


async def test_list_pages_share_one_snapshot() -> None:
    store = MemoryStore("ns")
    for name in "edcba":
        await store.create(prowjob(name))
    first = await store.list(limit=2)
    assert [o["metadata"]["name"] for o in first.items] == ["a", "b"]
    assert first.resource_version == "5"
    assert first.continue_token

    # Changes after the first page must not show in later pages of the same list.
    await store.create(prowjob("bb"))
    await store.patch("c", {"status": {"state": "pending"}})
    await store.delete("d")

    second = await store.list(limit=2, continue_token=first.continue_token)
    assert [o["metadata"]["name"] for o in second.items] == ["c", "d"]
    assert second.items[0]["status"]["state"] == "triggered"
    assert second.resource_version == "5"
    third = await store.list(limit=2, continue_token=second.continue_token)
    assert [o["metadata"]["name"] for o in third.items] == ["e"]
    assert third.continue_token is None

    fresh = await store.list()
    assert [o["metadata"]["name"] for o in fresh.items] == ["a", "b", "bb", "c", "e"]
    assert fresh.resource_version == "8"


async def test_list_continue_token_expires_with_history() -> None:
    store = MemoryStore("ns", history_limit=2)
    for name in "abc":
        await store.create(prowjob(name))
    first = await store.list(limit=1)
    for name in "xyz":
        await store.create(prowjob(name))
    with pytest.raises(Gone, match="continue parameter is too old"):
        await store.list(limit=1, continue_token=first.continue_token)


async def test_list_rejects_a_garbled_continue_token() -> None:
    store = MemoryStore("ns")
    with pytest.raises(ValueError, match="continue token"):
        await store.list(continue_token="not-a-token")


# -- watch ---------------------------------------------------------------------------------------


async def test_watch_resumes_exactly_after_the_given_version() -> None:
    store = MemoryStore("ns")
    for name in "abc":
        await store.create(prowjob(name))
    async with aclosing(store.watch("1", timeout_seconds=30)) as events:
        replay = await take(events, 2)
        assert [(e.type, e.resource_version) for e in replay] == [
            (EventType.ADDED, "2"),
            (EventType.ADDED, "3"),
        ]
        assert replay[0].object["metadata"]["name"] == "b"
        await store.patch("a", {"status": {"state": "pending"}})
        live = await anext(events)
        assert (live.type, live.resource_version) == (EventType.MODIFIED, "4")
        assert live.object["status"]["state"] == "pending"


async def test_watch_from_the_current_version_sees_only_new_events() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a"))
    async with aclosing(store.watch(store.resource_version, timeout_seconds=30)) as events:
        await store.create(prowjob("b"))
        event = await anext(events)
    assert event.object["metadata"]["name"] == "b"


async def test_watch_after_compaction_is_gone() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a"))
    await store.create(prowjob("b"))
    store.compact()
    with pytest.raises(Gone, match=r"too old resource version: 1 \(2\)"):
        await anext(store.watch("1", timeout_seconds=30))
    # The current version is still watchable: nothing was missed.
    async with aclosing(store.watch("2", timeout_seconds=30)) as events:
        await store.create(prowjob("c"))
        assert (await anext(events)).resource_version == "3"


async def test_watch_beyond_bounded_history_is_gone() -> None:
    store = MemoryStore("ns", history_limit=3)
    for name in "abcde":
        await store.create(prowjob(name))
    with pytest.raises(Gone):
        await anext(store.watch("1"))
    async with aclosing(store.watch("2", timeout_seconds=30)) as events:
        assert [e.resource_version for e in await take(events, 3)] == ["3", "4", "5"]


async def test_watch_from_the_future_is_gone() -> None:
    store = MemoryStore("ns")
    with pytest.raises(Gone, match="too large"):
        await anext(store.watch("7"))


async def test_lagging_watcher_gets_gone_and_never_blocks_writers() -> None:
    store = MemoryStore("ns", history_limit=3)
    async with aclosing(store.watch("0", timeout_seconds=30)) as events:
        await store.create(prowjob("a"))
        assert (await anext(events)).resource_version == "1"
        # The watcher does not read while the writers go on: none of them waits for it.
        for name in "bcdef":
            await asyncio.wait_for(store.create(prowjob(name)), timeout=1)
        with pytest.raises(Gone):
            await anext(events)


async def test_many_watchers_see_the_same_events() -> None:
    store = MemoryStore("ns")

    async def collect() -> list[str]:
        async with aclosing(store.watch("0", timeout_seconds=30)) as events:
            return [e.object["metadata"]["name"] for e in await take(events, 3)]

    watchers = [asyncio.create_task(collect()) for _ in range(50)]
    await asyncio.sleep(0)  # let every watcher start waiting before the writes
    for name in "xyz":
        await store.create(prowjob(name))
    results = await asyncio.gather(*watchers)
    assert results == [["x", "y", "z"]] * 50


async def test_bookmarks_when_idle() -> None:
    store = MemoryStore("ns", bookmark_interval=0.02)
    await store.create(prowjob("a"))
    async with aclosing(store.watch("1", timeout_seconds=30)) as events:
        event = await asyncio.wait_for(anext(events), timeout=5)
    assert event.type is EventType.BOOKMARK
    assert event.resource_version == "1"
    assert event.object["metadata"] == {"resourceVersion": "1"}
    assert event.object["kind"] == "ProwJob"


async def test_no_bookmarks_unless_allowed_and_timeout_ends_the_stream() -> None:
    store = MemoryStore("ns", bookmark_interval=0.02)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with aclosing(store.watch("0", timeout_seconds=1, allow_bookmarks=False)) as events:
        received = [e async for e in events]
    elapsed = loop.time() - started
    assert received == []
    assert 0.9 <= elapsed < 5


async def test_close_ends_watches_and_refuses_calls() -> None:
    store = MemoryStore("ns")
    async with aclosing(store.watch("0")) as events:
        waiting = asyncio.create_task(take(events, 1))
        await asyncio.sleep(0)
        await store.aclose()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, timeout=5)
    with pytest.raises(Unavailable):
        await store.get("a")


# -- patch / delete ------------------------------------------------------------------------------


async def test_merge_patch_bumps_version_and_emits_modified() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a", team="x", keep="y"))
    async with aclosing(store.watch("1", timeout_seconds=30)) as events:
        patched = await store.patch(
            "a",
            {
                "metadata": {"labels": {"team": None, "new": "z"}},
                "status": {"state": "pending", "build_id": "123", "startTime": None},
            },
        )
        event = await anext(events)
    assert patched["metadata"]["resourceVersion"] == "2"
    assert patched["metadata"]["labels"] == {"keep": "y", "new": "z"}
    assert patched["status"] == {"state": "pending", "build_id": "123"}
    assert patched["metadata"]["generation"] == 2
    assert (event.type, event.resource_version) == (EventType.MODIFIED, "2")
    assert event.object == patched


async def test_metadata_only_patch_keeps_generation() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a"))
    patched = await store.patch("a", {"metadata": {"annotations": {"k": "v"}}})
    assert patched["metadata"]["generation"] == 1
    assert patched["metadata"]["resourceVersion"] == "2"


async def test_patch_cannot_change_server_fields() -> None:
    store = MemoryStore("ns")
    created = await store.create(prowjob("a"))
    patched = await store.patch(
        "a",
        {"metadata": {"name": "b", "uid": None, "namespace": "x"}, "status": {"state": "pending"}},
    )
    for key in ("name", "uid", "namespace", "creationTimestamp"):
        assert patched["metadata"][key] == created["metadata"][key]


async def test_noop_patch_writes_nothing() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a"))
    same = await store.patch("a", {"status": {"state": "triggered"}})
    assert same["metadata"]["resourceVersion"] == "1"
    assert store.resource_version == "1"


async def test_patch_with_stale_resource_version_conflicts() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a"))
    await store.patch("a", {"metadata": {"resourceVersion": "1"}, "status": {"state": "pending"}})
    with pytest.raises(Conflict, match="the object has been modified"):
        await store.patch(
            "a", {"metadata": {"resourceVersion": "1"}, "status": {"state": "aborted"}}
        )
    assert (await store.get("a"))["status"]["state"] == "pending"


async def test_patch_missing_is_not_found() -> None:
    store = MemoryStore("ns")
    with pytest.raises(ObjectNotFound):
        await store.patch("nope", {"status": {"state": "pending"}})


async def test_delete_emits_deleted_at_a_new_version() -> None:
    store = MemoryStore("ns")
    await store.create(prowjob("a", state="success"))
    async with aclosing(store.watch("1", timeout_seconds=30)) as events:
        deleted = await store.delete("a")
        event = await anext(events)
    assert deleted["metadata"]["resourceVersion"] == "2"
    assert (event.type, event.resource_version) == (EventType.DELETED, "2")
    assert ProwJobRecord.from_object(event.object).state == "success"
    with pytest.raises(ObjectNotFound):
        await store.get("a")
    with pytest.raises(ObjectNotFound):
        await store.delete("a")


# -- pure helpers --------------------------------------------------------------------------------

# The examples of RFC 7386, appendix A.
RFC7386_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386_EXAMPLES)
def test_json_merge_patch_rfc7386_examples(target: Any, patch: Any, expected: Any) -> None:
    snapshot = repr(target)
    assert json_merge_patch(target, patch) == expected
    assert repr(target) == snapshot  # the target is not mutated


def test_parse_selector_terms() -> None:
    selector = parse_selector("a=1, b!=2,c in (x, y),d notin (z),e,!f,g>3,h<4, p.io/k==v")
    assert selector.requirements == (
        Requirement("a", Operator.EQUALS, ("1",)),
        Requirement("b", Operator.NOT_EQUALS, ("2",)),
        Requirement("c", Operator.IN, ("x", "y")),
        Requirement("d", Operator.NOT_IN, ("z",)),
        Requirement("e", Operator.EXISTS),
        Requirement("f", Operator.DOES_NOT_EXIST),
        Requirement("g", Operator.GREATER_THAN, ("3",)),
        Requirement("h", Operator.LESS_THAN, ("4",)),
        Requirement("p.io/k", Operator.EQUALS, ("v",)),
    )


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1", {"a": "1"}, True),
        ("a=1", {}, False),
        ("a!=1", {}, True),
        ("a!=1", {"a": "1"}, False),
        ("a notin (1,2)", {}, True),
        ("a notin (1,2)", {"a": "2"}, False),
        ("a in (1,2)", {"a": "2"}, True),
        ("a=", {"a": ""}, True),
        ("a>3", {"a": "4"}, True),
        ("a>3", {"a": "three"}, False),
        ("a<3", {"a": "-1"}, True),
        ("a,b", {"a": "1"}, False),
        ("", {"a": "1"}, True),
    ],
)
def test_selector_matching(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(selector).matches(labels) is expected


@pytest.mark.parametrize(
    "selector",
    ["a=1,,b=2", "a in (1", "a in ()", "a=b c", "-a=1", "a=" + "x" * 64, "a>b", "a in ((1))", ","],
)
def test_selector_errors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(selector)
