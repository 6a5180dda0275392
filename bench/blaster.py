"""The bench's floor: a bare uvloop process writing one message to each of N loopback TCP
connections, with no GraphQL, Starlette or WebSocket layer in the way.

Prints {"port"} once listening; `blast {marker, size}` writes a `size`-byte message containing
`marker` to every connection and answers {"started": monotonic time before the first write}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import cast

from bench.proc import raise_open_file_limit, read_commands, use_uvloop


def _print(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class _Sink(asyncio.Protocol):
    def __init__(self, transports: list[asyncio.Transport]) -> None:
        self.transports = transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transports.append(cast(asyncio.Transport, transport))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transports[:] = [t for t in self.transports if not t.is_closing()]


async def main() -> None:
    transports: list[asyncio.Transport] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Sink(transports), "127.0.0.1", 0, backlog=4096)
    _print({"port": server.sockets[0].getsockname()[1]})
    async for command in read_commands():
        if command["cmd"] == "count":
            _print({"connections": len(transports)})
        elif command["cmd"] == "blast":
            marker: str = command["marker"]
            payload = (marker + " " * max(0, command["size"] - len(marker))).encode()
            started = time.monotonic()
            for transport in transports:
                transport.write(payload)
            _print({"started": started, "spent": time.monotonic() - started})
    server.close()


if __name__ == "__main__":
    raise_open_file_limit()
    use_uvloop()
    asyncio.run(main())
