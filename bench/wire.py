"""Lean loopback clients for the bench: a WebSocket client protocol, a keep-alive HTTP/1.1 client.

Both are deliberately thin (no per-message JSON decoding, one timestamp per read) so that a
thousand clients in one process cost little next to the servers being measured.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from typing import Any, cast

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA

OnText = Callable[["WSClient", float, bytes], None]


def _masked(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return b""
    size = len(payload)
    key = (mask * (size // 4 + 1))[:size]
    value = int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")
    return value.to_bytes(size, "little")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked, final frame as a client must send it (RFC 6455 §5.2)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return header + mask + _masked(payload, mask)


class WSClient(asyncio.Protocol):
    """A WebSocket client connection; `on_text(client, monotonic_time, payload)` per message."""

    def __init__(self, host: str, port: int, path: str, subprotocol: str, on_text: OnText) -> None:
        loop = asyncio.get_running_loop()
        self._request_key = base64.b64encode(os.urandom(16))
        self._handshake = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self._request_key.decode()}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
        ).encode()
        self.on_text = on_text
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._open = False
        self._fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._handshake)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self._buffer
        buffer += data
        if not self._open and not self._read_handshake():
            return
        offset = 0
        size = len(buffer)
        while size - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length = second & 0x7F
            start = offset + 2
            if length == 126:
                if size - start < 2:
                    break
                length = int.from_bytes(buffer[start : start + 2], "big")
                start += 2
            elif length == 127:
                if size - start < 8:
                    break
                length = int.from_bytes(buffer[start : start + 8], "big")
                start += 8
            if second & 0x80:  # servers never mask; skip a key if one came anyway
                start += 4
            end = start + length
            if end > size:
                break
            self._frame(first, bytes(buffer[start:end]), now)
            offset = end
        if offset:
            del buffer[:offset]

    def _read_handshake(self) -> bool:
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        del buffer[: end + 4]
        expected = base64.b64encode(hashlib.sha1(self._request_key + _GUID).digest()).decode()
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        if " 101 " not in head[0] + " " or headers.get("sec-websocket-accept") != expected:
            self.opened.set_exception(ConnectionError(f"handshake refused: {head[0]}"))
            assert self.transport is not None
            self.transport.close()
            return False
        self._open = True
        self.opened.set_result(None)
        return True

    def _frame(self, first: int, payload: bytes, now: float) -> None:
        opcode = first & 0x0F
        if opcode == _PING:
            self._write(_PONG, payload)
        elif opcode == _CLOSE:
            self._write(_CLOSE, payload[:2])
            assert self.transport is not None
            self.transport.close()
        elif opcode == _TEXT or opcode == 0:
            if not first & 0x80:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join([*self._fragments, payload])
                self._fragments.clear()
            self.on_text(self, now, payload)

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))

    def send_json(self, message: Any) -> None:
        """Send one text message."""
        self._write(_TEXT, json.dumps(message).encode())

    def close(self) -> None:
        """Send a close frame and drop the connection."""
        self._write(_CLOSE, (1000).to_bytes(2, "big"))
        if self.transport is not None:
            self.transport.close()


async def open_ws(
    host: str, port: int, path: str, subprotocol: str, on_text: OnText, timeout: float = 30
) -> WSClient:
    """Connect and complete the WebSocket handshake."""
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(
            lambda: WSClient(host, port, path, subprotocol, on_text), host, port
        ),
        timeout,
    )
    await asyncio.wait_for(client.opened, timeout)
    return client


class HTTPClient:
    """One keep-alive HTTP/1.1 connection; requests go one at a time."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._headers = f"Host: {host}:{port}\r\n{extra}"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        """(status, body); reconnects once if the kept-alive connection was closed."""
        for attempt in (0, 1):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            assert self._reader is not None
            head = f"{method} {path} HTTP/1.1\r\n{self._headers}"
            if body or method in ("POST", "PATCH", "PUT"):
                head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            self._writer.write(head.encode() + b"\r\n" + body)
            try:
                return await self._response(self._reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.aclose()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-length":
                length = int(value)
        return status, await reader.readexactly(length) if length else b""

    async def aclose(self) -> None:
        """Close the connection (a later request opens a new one)."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
