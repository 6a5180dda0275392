"""The WebSocket server protocol the gateway is served with: uvicorn's websockets-sansio protocol,
plus a `FrameSink` (schema/wsframes.py) so that shared subscriptions write pre-built frames to
the transport, and less memory per connection.

It relies on uvicorn internals (pyproject.toml pins uvicorn below the next minor version for
that reason): it is passed as `uvicorn.Config(ws=FramingWebSocketProtocol)`, the documented way
to choose a protocol class, and only adds to the class through its own methods and the asyncio
`Protocol` callbacks. What it uses: `handshake_complete`, `close_sent`, `disconnected`,
`initial_response`, `transport` (to decide whether a frame may be written now), `scope` (to
offer the sink), and `queue` / `writable` / `request` / `response` (replaced or released, below).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from prow_graphql.app.light_sync import Flag, ReceiveQueue
from prow_graphql.schema.wsframes import SINK


class FramingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol that also takes whole frames (`write_frame`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # asyncio.Queue and asyncio.Event allocate their deques up front: ~3.8 KiB per idle
        # connection for a queue that holds at most a message or two (uvicorn pauses reading
        # after each one) and a flag. These keep the same methods in a few hundred bytes.
        self.queue = ReceiveQueue()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]

    def start_keepalive(self) -> None:
        # Called once the handshake response is written: the upgrade request and response
        # (their header maps, ~4 KiB) are not used again, and would otherwise live as long as
        # the connection. websockets' handshake parser also keeps the request (a local of its
        # generator), so its headers are emptied too. The scope keeps the headers the app reads.
        super().start_keepalive()
        request = self.__dict__.pop("request", None)
        self.__dict__.pop("response", None)
        if request is not None:
            request.headers.clear()

    async def run_asgi(self) -> None:
        self.scope["extensions"][SINK] = {"sink": self}
        try:
            await super().run_asgi()
        finally:
            # The scope refers to us and we to it: without this, every closed connection would
            # wait for the cyclic collector instead of going at once.
            self.scope["extensions"].pop(SINK, None)

    def write_frame(self, frame: bytes) -> bool:
        """Write a whole server frame now; False if the connection cannot take it now."""
        if (
            # Past the transport's high-water mark (uvicorn clears `writable` in pause_writing):
            # frames go the ordinary way, which waits for the drain while the follower's backlog
            # coalesces (backpressure.py).
            not self.writable.is_set()
            or self.conn.extensions  # permessage-deflate: the ordinary path compresses
            or not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
        ):
            return False
        transport = self.transport
        if transport.is_closing():
            return False
        transport.write(frame)
        return True


__all__ = ["FramingWebSocketProtocol"]
