"""Runs the Node.js scripts in tests/clients/ (third-party clients, graphql-http's audits)."""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

import pytest

from tests.harness import ROOT

CLIENTS = ROOT / "tests" / "clients"


def require_node_clients() -> str:
    """The node binary; skips when the clients are not installed (`make client-deps`)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the JavaScript client tests need node.js")
    if not (CLIENTS / "node_modules" / ".stamp").exists():
        pytest.skip("the JavaScript clients are not installed; run `make client-deps`")
    return node


async def run_node(script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """Run `script` (in tests/clients/) without blocking the loop; its last stdout line as JSON."""
    node = require_node_clients()
    process = await asyncio.create_subprocess_exec(
        node, script, *args, cwd=CLIENTS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, f"{script} {args} failed:\n{err.decode()}\n{out.decode()}"
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result
