"""Process plumbing for the bench: child processes spoken to in JSON lines, limits, event loop."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def raise_open_file_limit(wanted: int = 65536) -> int:
    """Raise the soft RLIMIT_NOFILE towards `wanted` (a thousand sockets need it); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def use_uvloop() -> str:
    """Use uvloop when installed (uvicorn[standard] brings it, and the gateway runs on it)."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


async def read_commands() -> AsyncIterator[dict[str, Any]]:
    """JSON commands, one per line of stdin, until it closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield json.loads(line)


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident set size of process `pid` in KiB (Linux /proc); `field="VmHWM"` for its peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Child:
    """A Python child process (`python -m module args`) answering JSON-line commands."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name

    @classmethod
    async def spawn(cls, module: str, args: Sequence[str] = (), *, name: str = "") -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            limit=1 << 26,
        )  # fmt: skip
        return cls(process, name or module)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def read(self, timeout: float = 120) -> dict[str, Any]:
        """The next JSON line the child prints."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            code = await self.process.wait()
            raise RuntimeError(f"{self.name} exited with {code}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def call(self, timeout: float = 120, **command: Any) -> dict[str, Any]:
        """Send one command and wait for its reply."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()
        return await self.read(timeout)

    async def close(self, timeout: float = 10) -> None:
        """Close stdin (the child's cue to exit) and wait; kill it if it does not."""
        if self.process.returncode is not None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
