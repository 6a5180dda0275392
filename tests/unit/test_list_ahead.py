"""List pages fetched one ahead: the next request goes out before the current page is decoded,
only the page asked for is used, and nothing fetched ahead outlives the store."""

from __future__ import annotations

import asyncio
import json

from prow_graphql.store.list_ahead import ListAhead, next_token


def body(items: list[str], token: str | None) -> bytes:
    metadata = {"resourceVersion": "7", **({"continue": token} if token else {})}
    return json.dumps({"items": items, "kind": "ProwJobList", "metadata": metadata}).encode()


PAGES = {None: body(["a", "b"], "t1"), "t1": body(["c", "d"], "t2"), "t2": body(["e"], None)}


async def test_the_next_page_is_requested_before_the_caller_decodes_this_one() -> None:
    requested: list[str | None] = []

    async def fetch(selector: str | None, limit: int | None, token: str | None) -> bytes:
        requested.append(token)
        await asyncio.sleep(0)
        return PAGES[token]

    pages = ListAhead(fetch)
    first = await pages.page(None, 2, None)
    assert requested == [None, "t1"]  # page 2 is on its way while page 1 is decoded
    assert next_token(first) == "t1"
    await pages.page(None, 2, "t1")
    await pages.page(None, 2, "t2")
    assert requested == [None, "t1", "t2"]  # each page fetched once, none past the last
    await pages.aclose()


async def test_a_page_not_asked_for_is_cancelled_and_its_error_swallowed() -> None:
    gate = asyncio.Event()

    async def fetch(selector: str | None, limit: int | None, token: str | None) -> bytes:
        if token == "t1":
            await gate.wait()
            raise RuntimeError("never reported")
        return PAGES[token]

    pages = ListAhead(fetch)
    await pages.page(None, 2, None)
    pages.discard(unless=None)  # the caller stops after page 1 (say, the decoded token differs)
    again = await pages.page(None, 2, None)  # a new list starts from the beginning
    assert next_token(again) == "t1"
    gate.set()
    await pages.aclose()


def test_the_token_is_read_from_the_tail_only() -> None:
    assert next_token(body(["x" * 10_000], "tok")) == "tok"
    assert next_token(body(['"continue":"inside-an-item"'], None)) is None
