"""Pre-framed graphql-transport-ws `next` messages, written straight to a connection's transport.

A shared subscription sends the same result to every follower. The WebSocket frame of a `next`
message depends only on that result and the operation id (server frames are not masked), so it is
built once per result and operation id — from ONE JSON encoding of the result, whatever the
number of distinct ids — and the pump writes the bytes to each connection's transport itself,
skipping the Strawberry → Starlette → uvicorn → websockets send layers for every follower.

The server protocol offers a `FrameSink` to the app as an ASGI scope extension (`SINK`); it
refuses a frame (returns False) when the connection is not open or its transport has paused
writing, and the follower then takes the ordinary send path, where the one backpressure rule
(backpressure.py) applies. It also refuses every frame on a connection that negotiated
permessage-deflate (browsers do): the ordinary path compresses with context takeover, and
repeated states of one job shrink to almost nothing there (~77 times less traffic, measured).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

SINK = "prow_graphql.frame_sink"
"""The ASGI scope extension under which the server protocol offers a connection's `FrameSink`."""

_TEXT_FIN = 0x81  # FIN + opcode 1 (text)
_NO_DATA = object()
_PREFIX_CACHE = 4096  # operation ids whose JSON prefix is remembered (clients often reuse "1")
# Whole frames kept per result, for ids several followers share ("1"); past this, frames are
# built per call: graphql-ws clients give every subscription its own UUID, and keeping one copy
# of the result per id would hold (followers x result) bytes until the next result.
_FRAME_CACHE_BYTES = 256 * 1024


class FrameSink(Protocol):
    """A WebSocket connection that takes whole frames without the ASGI send path."""

    def write_frame(self, frame: bytes) -> bool:
        """Write `frame` now, in order with everything sent before; False if it cannot."""


def sink_of(scope: Mapping[str, Any] | None) -> FrameSink | None:
    """The connection's FrameSink, if its server offers one."""
    extensions = (scope or {}).get("extensions") or {}
    entry = extensions.get(SINK)
    sink = entry.get("sink") if isinstance(entry, dict) else None
    return sink if callable(getattr(sink, "write_frame", None)) else None


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame carrying `payload` (RFC 6455 §5.2, as a server sends it)."""
    size = len(payload)
    if size < 126:
        header = bytes((_TEXT_FIN, size))
    elif size < 1 << 16:
        header = bytes((_TEXT_FIN, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((_TEXT_FIN, 127)) + size.to_bytes(8, "big")
    return header + payload


class NextFrames:
    """Frames of `{"id", "type": "next", "payload": {"data"}}` for the latest result data.

    The first operation id asks `encode` (the view's encoder, the one the ordinary path uses) for
    the whole message; the part after `"payload":` is then reused for every other id, so the
    result is encoded once per change. If the encoder's output does not have the expected
    envelope (an error put in place of an oversized result, say) or a message would exceed
    `limit`, `frame` returns None and the caller sends the ordinary way.
    """

    def __init__(self, encode: Callable[[object], str | bytes], limit: int) -> None:
        self._encode = encode
        self._limit = limit
        self._data: object = _NO_DATA  # held: its identity keys the frames below
        self._tail: bytes | None = None
        self._unframable = False
        self._frames: dict[str, bytes] = {}
        self._frame_bytes = 0
        self._prefixes: dict[str, bytes] = {}

    def frame(self, data: object, operation_id: str) -> bytes | None:
        """The `next` frame of `data` for `operation_id`, or None to send it the ordinary way."""
        if data is not self._data:
            self._data, self._tail, self._unframable = data, None, False
            self._frames, self._frame_bytes = {}, 0
        frame = self._frames.get(operation_id)
        if frame is not None:
            return frame
        if self._unframable:
            return None
        prefix = self._prefix(operation_id)
        tail = self._tail
        if tail is None:
            tail = self._tail = self._tail_of(data, operation_id, prefix)
            if tail is None:
                self._unframable = True
                return None
        body = prefix + tail
        if len(body) > self._limit:
            return None  # the ordinary path replaces it with a RESPONSE_TOO_LARGE error
        frame = text_frame(body)
        if self._frame_bytes + len(frame) <= _FRAME_CACHE_BYTES:
            self._frames[operation_id] = frame
            self._frame_bytes += len(frame)
        return frame

    def _tail_of(self, data: object, operation_id: str, prefix: bytes) -> bytes | None:
        encoded = self._encode({"id": operation_id, "type": "next", "payload": {"data": data}})
        raw = encoded.encode() if isinstance(encoded, str) else encoded
        if not (raw.startswith(prefix) and raw.endswith(b"}")):
            return None
        return raw[len(prefix) :]

    def _prefix(self, operation_id: str) -> bytes:
        prefix = self._prefixes.get(operation_id)
        if prefix is None:
            if len(self._prefixes) >= _PREFIX_CACHE:
                self._prefixes.clear()
            # The envelope as Strawberry's send_next builds it and its encoder writes it.
            prefix = f'{{"id":{json.dumps(operation_id)},"type":"next","payload":'.encode()
            self._prefixes[operation_id] = prefix
        return prefix
