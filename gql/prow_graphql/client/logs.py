"""`trigger --follow --logs`: the job's test output, printed under (above) the progress line.

The log is a second subscription (prowJobLog) next to prowJobUpdated; its lines go out as they
arrive. Notices that mean "no live log" (pod gone, logs unavailable) go to stderr with the link
to the stored logs; waiting notices are left to the progress line, which already says PENDING.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TextIO

from prow_graphql.client import documents
from prow_graphql.client.errors import ClientError
from prow_graphql.client.output import Progress
from prow_graphql.client.transport import GatewayClient

# After the job's final state, how long to wait for the rest of its log.
DRAIN_SECONDS = 10.0


def start_logs(
    client: GatewayClient,
    name: str,
    progress: Progress,
    out: TextIO,
    err: TextIO,
    *,
    json_mode: bool,
    container: str = "test",
) -> asyncio.Task[None]:
    """Print ProwJob `name`'s container log as it is written, in a task of its own."""
    return asyncio.create_task(
        _print_log(client, name, container, progress, out, err, json_mode),
        name=f"log-{name}",
    )


async def finish_logs(task: asyncio.Task[None], *, drain: bool) -> None:
    """Stop the log task; with `drain`, first let it print what is left (DRAIN_SECONDS at most)."""
    if drain:
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), DRAIN_SECONDS)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _print_log(
    client: GatewayClient,
    name: str,
    container: str,
    progress: Progress,
    out: TextIO,
    err: TextIO,
    json_mode: bool,
) -> None:
    try:
        async for data in client.subscribe(documents.LOG, {"name": name, "container": container}):
            event = data["prowJobLog"]
            if json_mode:
                if event["kind"] != "WAITING":
                    out.write(json.dumps({"log": event}, separators=(",", ":")) + "\n")
                    out.flush()
            elif event["kind"] == "LINES":
                progress.print_above(event["lines"])
            elif event["kind"] in ("POD_GONE", "UNAVAILABLE"):
                progress.print_above([], err=err, notice=f"prow-graphql: {event['message']}")
    except ClientError as exc:
        # The job's progress matters more than its log: say so and keep following.
        progress.print_above([], err=err, notice=f"prow-graphql: no live log: {exc.message}")
