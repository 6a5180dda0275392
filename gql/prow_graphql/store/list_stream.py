"""A whole ProwJob list decoded one item at a time, straight off the response body.

The first list of a large namespace is one response of tens of megabytes (an API server answers
`resourceVersion=0` from its watch cache in one piece; it ignores `limit` there). Decoding it
with `json.loads` would hold every item at once — about 34 KiB of Python objects per ProwJob, far
more than the cache keeps — so the items are decoded incrementally (ijson's C backend) and each is
handed on and dropped before the next is built.

ijson reports the items only; the list's own `kind` and `metadata` (its resourceVersion) are read
from the raw bytes around them: the real API server writes the list's keys sorted, so `kind` and
`metadata` are the last members, after `items`. A list that puts them first (apiVersion, kind,
metadata, then items) is read from the head instead. Anything else — a single object, a Status,
a page of a longer list — is refused rather than taken for a whole list.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, Protocol

import ijson  # type: ignore[import-untyped]

from prow_graphql.errors import Unavailable

__all__ = ["ByteSource", "decode_items", "list_envelope"]

Item = dict[str, Any]
_KEEP = 64 * 1024  # list metadata is a few hundred bytes; its continue token at most a few KiB
_HEAD_METADATA = re.compile(
    rb'\A\s*\{((?:\s*"(?:apiVersion|kind)"\s*:\s*"[^"\\]*"\s*,)*)\s*"metadata"\s*:'
)
_HEAD_KIND = re.compile(rb'"kind"\s*:\s*"([^"\\]*)"')
_TAIL_METADATA = re.compile(rb'[,{]\s*"metadata"\s*:')
# The member just before the list's metadata, in the API server's (sorted) order: its kind.
_KIND_BEFORE = re.compile(rb'"kind"\s*:\s*"([^"\\]*)"\s*,\Z')
_DECODER = json.JSONDecoder()

if ijson.backend != "yajl2_c":  # no C wheel for this platform: the same answers, far slower
    logging.getLogger(__name__).warning(
        "ijson uses its %s backend: the first ProwJob list will decode slowly", ijson.backend
    )


class ByteSource(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class _Recording:
    """Passes reads through to ijson while keeping the body's first and last bytes."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self.head = b""
        self.tail = b""
        self.size = 0

    async def read(self, n: int = -1) -> bytes:
        chunk = await self._source.read(n)
        self.size += len(chunk)
        if len(self.head) < _KEEP:
            self.head += chunk[: _KEEP - len(self.head)]
        self.tail = (self.tail + chunk)[-_KEEP:]
        return chunk


async def decode_items(
    source: ByteSource, on_item: Callable[[Item], None], what: str
) -> dict[str, Any]:
    """Hand each item of the list in `source` to `on_item`; return the list's metadata."""
    body = _Recording(source)
    try:
        async for item in ijson.items_async(body, "items.item", use_float=True):
            if not isinstance(item, dict):
                raise Unavailable(f"{what}: a list item is not an object")
            on_item(item)
    except ijson.common.JSONError as exc:
        # yajl reports a body cut short and one that never was JSON alike.
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Unavailable(
            f"{what}: the list body is not valid JSON or ends early ({detail})"
        ) from exc
    envelope = list_envelope(body.head, body.tail)
    if envelope is None:
        raise Unavailable(
            f"{what}: the answer is not a list (no kind ...List next to a first or last metadata)"
        )
    kind, metadata = envelope
    if metadata.get("continue") or metadata.get("remainingItemCount"):
        # Asked for the whole list: a partial one would leave the cache silently incomplete.
        raise Unavailable(f"{what}: the API server sent part of the list ({kind} continues)")
    return metadata


def list_envelope(head: bytes, tail: bytes) -> tuple[str, dict[str, Any]] | None:
    """The kind and the top-level `metadata` of a list, from its first and last bytes; None if
    they are not where a list encoder puts them, or the kind is not a ...List."""
    found = _HEAD_METADATA.match(head)
    if found is not None:
        kind = _HEAD_KIND.search(found.group(1))
        value = _object_at(head, found.end())
        if kind is not None and value is not None:
            return _list_kind(kind.group(1), value[0])
    text_end = len(tail.rstrip())
    if not tail[:text_end].endswith(b"}"):
        return None
    # The last `"metadata":` whose object ends just before the list's closing brace.
    for found in reversed(list(_TAIL_METADATA.finditer(tail))):
        value = _object_at(tail, found.end())
        if value is not None and tail[value[1] : text_end - 1].strip() == b"":
            kind = _KIND_BEFORE.search(tail, 0, found.start() + 1)
            return None if kind is None else _list_kind(kind.group(1), value[0])
    return None


def _list_kind(kind: bytes, metadata: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    name = kind.decode("ascii", "replace")
    return (name, metadata) if name.endswith("List") else None


def _object_at(raw: bytes, start: int) -> tuple[dict[str, Any], int] | None:
    """The JSON object at byte `start` (after whitespace) and the byte offset where it ends."""
    # surrogateescape: a tail cut inside a UTF-8 sequence still maps back to the same bytes.
    text = raw.decode("utf-8", "surrogateescape")
    position = len(raw[:start].decode("utf-8", "surrogateescape"))
    while position < len(text) and text[position].isspace():
        position += 1
    try:
        value, end = _DECODER.raw_decode(text, position)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return value, len(text[:end].encode("utf-8", "surrogateescape"))
