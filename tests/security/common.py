"""Shared pieces of the attack tests: a token file, clients, and a /healthz latency probe."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.harness import RunningGateway

ALICE = "alice-token-0123456789abcdef"  # member of example-org
BOB = "bob-token-0123456789abcdef0000"  # no memberships
ROOT_TOKEN = "root-token-0123456789abcdef000"  # member of the hidden-jobs group
HIDDEN_GROUP = "prow-admins"
HEALTHZ_BOUND = 1.0  # seconds; generous on a shared 2-core machine, real figures go in notes


def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        "tokens:\n"
        f"  - {{user: alice, token: {ALICE}, groups: ['github-org:example-org']}}\n"
        f"  - {{user: bob, token: {BOB}}}\n"
        f"  - {{user: root, token: {ROOT_TOKEN},\n"
        f"     groups: ['{HIDDEN_GROUP}', 'github-org:example-org']}}\n"
    )
    return path


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


@dataclass
class HealthProbe:
    """Polls /healthz while an attack runs; `worst` is the slowest answer in seconds."""

    samples: list[float] = field(default_factory=list)

    @property
    def worst(self) -> float:
        return max(self.samples, default=0.0)


@contextlib.asynccontextmanager
async def probing(gateway: RunningGateway, every: float = 0.05) -> AsyncIterator[HealthProbe]:
    """Run a /healthz poller for the duration of the block."""
    probe = HealthProbe()

    async def poll() -> None:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            while True:
                started = time.perf_counter()
                response = await client.get("/healthz")
                probe.samples.append(time.perf_counter() - started)
                assert response.status_code == 200
                await asyncio.sleep(every)

    task = asyncio.create_task(poll())
    try:
        await asyncio.sleep(every)  # at least one sample before the attack
        yield probe
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
