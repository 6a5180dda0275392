"""List pages fetched one ahead: the API server prepares page k+1 while the caller decodes page k.

A paginated list alternates between the API server (reading a page from etcd and encoding it) and
us (decoding it, building records); done strictly in turn, each waits for the other. The continue
token of the next page is in the raw body's tail (list metadata comes after the items), so the
next request can go out before the current body is decoded. At most one page is fetched ahead,
and only the page asked for next is ever used: anything else is cancelled.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

Fetch = Callable[[str | None, int | None, str | None], Awaitable[bytes]]
Key = tuple[str | None, int | None, str | None]

_CONTINUE = re.compile(rb'"continue":\s*"([^"]+)"')
_TAIL = 4096  # the list metadata ({"continue": ..., "resourceVersion": ...}) is at the very end


def next_token(body: bytes) -> str | None:
    """The continue token in a raw list body's metadata, if any (a guess that the caller checks
    against the decoded body)."""
    found = _CONTINUE.search(body, max(0, len(body) - _TAIL))
    return found.group(1).decode() if found else None


class ListAhead:
    """Fetches raw list pages with `fetch(label_selector, limit, continue_token)`."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._ahead: tuple[Key, asyncio.Task[bytes]] | None = None

    async def page(self, label_selector: str | None, limit: int | None, token: str | None) -> bytes:
        """The raw body of the page asked for; starts fetching the one after it."""
        key = (label_selector, limit, token)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == key:
            body = await ahead[1]
        else:
            if ahead is not None:
                ahead[1].cancel()
            body = await self._fetch(*key)
        token = next_token(body) if limit else None
        if token is not None:
            task = asyncio.ensure_future(self._fetch(label_selector, limit, token))
            task.add_done_callback(_consume)
            self._ahead = ((label_selector, limit, token), task)
            # Let the request go out before the caller spends a while decoding this page.
            for _ in range(3):
                await asyncio.sleep(0)
        return body

    def discard(self, unless: str | None) -> None:
        """Cancel the page fetched ahead unless it is the one for continue token `unless`."""
        if self._ahead is not None and self._ahead[0][2] != unless:
            self._ahead[1].cancel()
            self._ahead = None

    async def aclose(self) -> None:
        """Cancel and await whatever is fetched ahead."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead[1].cancel()
            await asyncio.wait({ahead[1]})


def _consume(task: asyncio.Task[bytes]) -> None:
    # A page fetched ahead and never asked for: its error (if any) is nobody's to report.
    if not task.cancelled():
        task.exception()
