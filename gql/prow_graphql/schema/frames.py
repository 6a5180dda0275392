"""Encodings of result data remembered so that a shared result is JSON-encoded once."""

from __future__ import annotations

from collections.abc import Callable

from prow_graphql.schema.bounded import ByteLRU


class FrameCache:
    """Remembers recent encodings of result data, keyed by the identity of that data.

    Shared subscriptions hand the same result object to every follower, and cached config
    queries return the same result object on every hit, so each is JSON-encoded once. Holding a
    reference to the data keeps its id from being reused while the entry lives. Bounded by the
    bytes of the encodings (the data they keep alive is of the same order).
    """

    def __init__(self, size: int = 64, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._size = size
        self._frames: ByteLRU[tuple[int, object], tuple[object, str | bytes]] = ByteLRU(max_bytes)

    def encode(self, data: object, encode: Callable[[object], str | bytes]) -> str | bytes:
        """`encode(data)`, reusing the previous encoding of the same result data."""
        key = _frame_key(data)
        if key is None:
            return encode(data)
        result_data = key[0]
        cache_key = (id(result_data), key[1])
        cached = self._frames.get(cache_key)
        if cached is not None and cached[0] is result_data:
            return cached[1]
        encoded = encode(data)
        self._frames.put(cache_key, (result_data, encoded), len(encoded))
        while len(self._frames) > self._size:
            self._frames.pop_oldest()
        return encoded


def _frame_key(data: object) -> tuple[object, object] | None:
    """(result data, what else the message depends on) for cacheable messages, else None."""
    if not isinstance(data, dict):
        return None
    if set(data) == {"data"} and data["data"] is not None:
        return data["data"], "http"  # an HTTP response body without errors
    payload = data.get("payload")
    if data.get("type") == "next" and isinstance(payload, dict) and set(payload) == {"data"}:
        return payload["data"], data.get("id")
    return None
