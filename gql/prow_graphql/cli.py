"""The `prow-graphql` command: serve, export-schema, and the scripting client (trigger, jobs)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from prow_graphql.client.args import add_jobs_arguments, add_trigger_arguments
from prow_graphql.errors import ConfigError
from prow_graphql.settings import Settings, add_serve_arguments, settings_from_args

if TYPE_CHECKING:
    import asyncio

    import uvicorn

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="prow-graphql", description="A GraphQL gateway over Prow jobs."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    add_serve_arguments(serve)
    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    trigger = commands.add_parser("trigger", help="trigger a job on a running gateway (--follow)")
    add_trigger_arguments(trigger)
    jobs = commands.add_parser("jobs", help="list the jobs a running gateway has configured")
    add_jobs_arguments(jobs)
    args = parser.parse_args(argv)
    if args.command == "export-schema":
        return _export_schema(args.output)
    if args.command in ("trigger", "jobs"):
        from prow_graphql.client.commands import run

        return run(args)
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        parser.exit(2, f"prow-graphql serve: {exc}\n")
    return _serve(settings)


def _export_schema(output: str | None) -> int:
    from prow_graphql.schema.schema import export_sdl

    sdl = export_sdl()
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def _serve(settings: Settings) -> int:
    import asyncio

    from prow_graphql import logs
    from prow_graphql.app import create_app, create_metrics_app

    logs.configure(settings.log_format, settings.log_level)
    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(f"prow-graphql: cannot start: {exc}", file=sys.stderr)
        return 2
    gateway = app.state.gateway
    servers = [
        _server(
            app, settings.host, settings.port, settings.shutdown_timeout, settings.max_body_bytes
        )
    ]
    if settings.metrics_port and settings.metrics_port != settings.port:
        metrics_app = create_metrics_app(gateway)
        servers.append(
            _server(metrics_app, settings.host, settings.metrics_port, settings.shutdown_timeout)
        )
    base = f"http://{_url_host(settings.host)}:{settings.port}"
    print(
        f"prow-graphql ({settings.backend.value} backend): GraphiQL at {base}/graphql", flush=True
    )
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_run_servers(servers))
    if not servers[0].started:
        print(
            "prow-graphql: the server did not start; the log above says why "
            "(with --backend kube: pass --kubeconfig/--context, or try --backend memory)",
            file=sys.stderr,
        )
        return 2
    return 0


def _server(
    app: object, host: str, port: int, shutdown_timeout: float, max_body_bytes: int = 0
) -> uvicorn.Server:
    import uvicorn

    from prow_graphql.app.ws_protocol import FramingWebSocketProtocol
    from prow_graphql.protections import server_limits

    limits = server_limits(max_body_bytes) if max_body_bytes else {}
    return uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            # websockets-sansio, taking pre-built frames for shared subscriptions (wsframes.py).
            ws=FramingWebSocketProtocol,
            lifespan="on",
            proxy_headers=False,  # identity headers are trusted only from --trusted-proxies
            # uvicorn waits for every open response before it exits; an SSE subscription never
            # ends by itself, so the wait is bounded (clients reconnect to another replica).
            timeout_graceful_shutdown=max(1, round(shutdown_timeout)),
            **limits,  # type: ignore[arg-type]
        )
    )


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (uvicorn[standard] brings it), as uvicorn's own `--loop auto` picks.

    The fan-out of a shared subscription is one transport write per subscriber; uvloop's
    transports do that in C (bench.md: a third less gateway CPU per change at 1,000 followers).
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _run_servers(servers: list[uvicorn.Server]) -> None:
    import asyncio

    async def serve(server: uvicorn.Server) -> None:
        # uvicorn raises SystemExit when the lifespan start-up fails; main() reports it.
        with contextlib.suppress(SystemExit):
            await server.serve()

    tasks = [asyncio.create_task(serve(s)) for s in servers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    # When one server stops (signal or start-up failure), stop the others too.
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    sys.exit(main())
