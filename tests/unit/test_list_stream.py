"""store/list_stream: items handed on one by one, the list's metadata found wherever an encoder
puts it, broken bodies refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prow_graphql.errors import Unavailable
from prow_graphql.store.list_stream import decode_items, list_envelope


class Chunks:
    """An async byte source that hands out `size` bytes per read."""

    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size, self.reads = body, size, 0

    async def read(self, n: int = -1) -> bytes:
        self.reads += 1
        want = self.size if n < 0 else min(n, self.size)
        chunk, self.body = self.body[:want], self.body[want:]
        return chunk


def item(i: int) -> dict[str, Any]:
    # The item's own metadata is its last key, so the body ends `..."metadata":{...}}],...`.
    return {
        "spec": {"job": f"j{i}", "note": "\u00e9\u2713" * (i % 5)},
        "metadata": {"name": f"p{i}", "resourceVersion": str(100 + i)},
    }


def encoded(top: dict[str, Any]) -> bytes:
    return json.dumps(top, separators=(",", ":"), ensure_ascii=False).encode()


async def decode(body: bytes, size: int = 1000) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    metadata = await decode_items(Chunks(body, size), seen.append, "list prowjobs")
    return seen, metadata


@pytest.mark.parametrize("size", [1, 7, 1000, 1 << 20])
async def test_items_and_trailing_metadata_as_the_api_server_orders_them(size: int) -> None:
    items = [item(i) for i in range(1000)]  # > 64 KiB: the tail is a window, not the body
    meta = {"continue": "", "resourceVersion": "4242"}
    body = encoded(
        {"apiVersion": "prow.k8s.io/v1", "items": items, "kind": "ProwJobList", "metadata": meta}
    )
    assert len(body) > 64 * 1024
    seen, metadata = await decode(body, size)
    assert seen == items
    assert metadata == meta


async def test_metadata_before_the_items_is_read_from_the_head() -> None:
    items = [item(i) for i in range(3)]
    body = encoded(
        {
            "apiVersion": "v1",
            "kind": "ProwJobList",
            "metadata": {"resourceVersion": "7"},
            "items": items,
        }
    )
    seen, metadata = await decode(body)
    assert (seen, metadata) == (items, {"resourceVersion": "7"})


async def test_an_empty_list() -> None:
    body = b'{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":"9"}}\n'
    assert await decode(body) == ([], {"resourceVersion": "9"})


@pytest.mark.parametrize(
    "top",
    [
        {"apiVersion": "v1", "items": [item(1)], "kind": "ProwJobList"},  # no metadata
        # one object, not a list: its metadata comes first, as a list's may
        {"apiVersion": "v1", "kind": "ProwJob", "metadata": {"resourceVersion": "5"}},
        # a Status answered with 200
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"},
        {"apiVersion": "v1", "kind": "ProwJob", "metadata": {"resourceVersion": "5"}, "x": 1},
        {"apiVersion": "v1", "items": [], "metadata": {"resourceVersion": "5"}},  # no kind
    ],
)
async def test_what_is_not_a_whole_list_is_refused(top: dict[str, Any]) -> None:
    with pytest.raises(Unavailable, match="is not a list"):
        await decode(encoded(top))


@pytest.mark.parametrize(
    "meta",
    [
        {"continue": "abc", "resourceVersion": "5"},
        {"continue": "", "remainingItemCount": 3, "resourceVersion": "5"},
    ],
)
async def test_a_page_of_a_longer_list_is_refused(meta: dict[str, Any]) -> None:
    body = encoded(
        {"apiVersion": "v1", "items": [item(1)], "kind": "ProwJobList", "metadata": meta}
    )
    with pytest.raises(Unavailable, match="sent part of the list"):
        await decode(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"items":[{"metadata":{"name":"a"}},{"meta', "not valid JSON or ends early"),
        (b"<html>502 Bad Gateway</html>", "not valid JSON"),
        (b'{"items":[1,2],"metadata":{"resourceVersion":"1"}}', "a list item is not an object"),
    ],
)
async def test_broken_bodies_are_unavailable(body: bytes, message: str) -> None:
    with pytest.raises(Unavailable, match=message):
        await decode(body)


def test_a_tail_cut_inside_a_multibyte_character() -> None:
    meta = {"resourceVersion": "12", "continue": ""}
    body = encoded({"items": [item(4)], "kind": "ProwJobList", "metadata": meta})
    # The window starts in the middle of "é" (two bytes in UTF-8).
    start = body.index("\u00e9".encode()) + 1
    assert list_envelope(b"", body[start:]) == ("ProwJobList", meta)


def test_an_items_metadata_is_never_taken_for_the_lists() -> None:
    # Cut the list's own metadata off: the last item's metadata is then the last object in the
    # body, but it does not close the list, so there is no answer rather than a wrong one.
    body = encoded({"items": [item(1)]})
    assert list_envelope(b"", body) is None
