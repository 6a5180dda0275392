"""`prow-graphql trigger` and `prow-graphql jobs`: validate flags, call the gateway, print, and
choose the exit code (0 success, 1 failed job or refused trigger, 2 usage or connection)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from prow_graphql.client import documents
from prow_graphql.client.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ClientError,
    Unreachable,
)
from prow_graphql.client.logs import finish_logs, start_logs
from prow_graphql.client.output import (
    FINAL_STATES,
    Progress,
    branches,
    progress_key,
    table,
    yes_no,
)
from prow_graphql.client.transport import GatewayClient, JSONObject, graphql_endpoint

# --follow survives a gateway restart: prowJobUpdated starts again from the current state.
RECONNECT_DELAYS = (1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Connection:
    """Where and how to reach the gateway."""

    url: str
    token: str | None
    timeout: float
    json: bool


@dataclass(frozen=True)
class TriggerOptions:
    """A validated `trigger` command line."""

    connection: Connection
    variables: Mapping[str, Any]
    follow: bool
    dry_run: bool
    logs: bool = False


def run(
    args: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the `trigger` or `jobs` command parsed into `args`; returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ
    try:
        connection = _connection(args, env)
        options = _trigger_options(args, connection) if args.command == "trigger" else None
    except ValueError as exc:
        err.write(f"prow-graphql {args.command}: error: {exc}\n")
        return EXIT_USAGE
    try:
        if options is not None:
            return asyncio.run(trigger(options, out, err, live=out.isatty()))
        return asyncio.run(list_jobs(connection, args.org, args.repo, out, err))
    except ClientError as exc:
        err.write(f"prow-graphql: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("prow-graphql: interrupted\n")
        return EXIT_INTERRUPTED


def _connection(args: argparse.Namespace, env: Mapping[str, str]) -> Connection:
    url = args.url or env.get("PROW_GRAPHQL_URL", "")
    if not url:
        raise ValueError("--url is required (or set PROW_GRAPHQL_URL)")
    graphql_endpoint(url)  # validates
    if args.timeout <= 0:
        raise ValueError("--timeout: must be positive")
    token = args.token or env.get("PROW_GRAPHQL_TOKEN") or None
    return Connection(url=url, token=token, timeout=args.timeout, json=args.json)


def _trigger_options(args: argparse.Namespace, connection: Connection) -> TriggerOptions:
    job_type = args.type or ("presubmit" if args.pr is not None else "postsubmit")
    if job_type != "periodic" and not (args.org and args.repo):
        raise ValueError("--org and --repo are required (except with --type periodic)")
    if args.pr is not None and job_type != "presubmit":
        raise ValueError(f"--pr only applies to presubmits, not --type {job_type}")
    if args.pr_sha and args.pr is None:
        raise ValueError("--pr-sha needs --pr")
    if args.logs and not args.follow:
        raise ValueError("--logs needs --follow")
    if args.follow and args.dry_run:
        raise ValueError("--follow cannot follow a --dry-run (nothing is created)")
    job_input: dict[str, Any] = {
        "org": args.org,
        "repo": args.repo,
        "job": args.job,
        "type": job_type.upper(),
        "baseRef": "" if job_type == "periodic" else args.base_ref,
        "dryRun": args.dry_run,
    }
    if args.pr is not None:
        job_input["pullRequest"] = {"number": args.pr, "sha": args.pr_sha}
    if args.author:
        job_input["author"] = args.author
    return TriggerOptions(
        connection=connection,
        variables={"input": job_input, "withManifest": args.dry_run},
        follow=args.follow,
        dry_run=args.dry_run,
        logs=args.logs,
    )


def _client(connection: Connection) -> GatewayClient:
    return GatewayClient(connection.url, connection.token, connection.timeout)


def _print_json(out: TextIO, value: object) -> None:
    out.write(json.dumps(value, separators=(",", ":")) + "\n")
    out.flush()


async def trigger(options: TriggerOptions, out: TextIO, err: TextIO, *, live: bool) -> int:
    """Trigger the job, print what was created, and with --follow follow it to its end."""
    started = time.monotonic()
    json_mode = options.connection.json
    async with _client(options.connection) as client:
        data = await client.execute(documents.TRIGGER, options.variables)
        result: JSONObject = data["triggerJob"]
        if result["__typename"] != "TriggerJobSuccess":
            if json_mode:
                _print_json(out, {"error": result})
            err.write(f"prow-graphql: {_typed_error(result)}\n")
            return EXIT_FAILED
        job: JSONObject = result["prowJob"]
        if json_mode:
            _print_json(out, result)
        elif options.dry_run:
            out.write(f"dry run: {_describe(job)} (nothing created); the ProwJob:\n")
            out.write(json.dumps(result["manifest"], indent=2) + "\n")
        else:
            out.write(f"triggered {_describe(job)}\n")
            if result.get("statusLink"):
                out.write(f"status: {result['statusLink']}\n")
        out.flush()
        if not options.follow:
            return EXIT_OK
        return await follow(
            client, job, started, out, err, json_mode=json_mode, live=live, logs=options.logs
        )


def _describe(job: Mapping[str, Any]) -> str:
    refs = job.get("refs") or {}
    where = f" {refs['org']}/{refs['repo']}@{refs['baseRef']}" if refs else ""
    pulls = refs.get("pulls") or []
    pr = f" #{pulls[0]['number']}" if pulls else ""
    return f"{job['job']} ({job['type'].lower()}{where}{pr}): ProwJob {job['name']}"


def _typed_error(result: Mapping[str, Any]) -> str:
    message = str(result.get("message") or result["__typename"])
    if result.get("candidates"):
        message += f" (candidates: {', '.join(result['candidates'])})"
    return message


async def follow(
    client: GatewayClient,
    job: JSONObject,
    started: float,
    out: TextIO,
    err: TextIO,
    *,
    json_mode: bool,
    live: bool,
    logs: bool = False,
) -> int:
    """Print each state of the ProwJob until it is final (with `logs`, its test output too);
    0 for success, 1 otherwise."""
    name = job["name"]
    width = shutil.get_terminal_size().columns if live else 0
    progress = Progress(out, live=live, width=width)
    ticker = asyncio.create_task(_tick(progress, started)) if live and not json_mode else None
    last = job
    # The trigger's answer already showed the first state; the subscription starts with it too
    # (and again after a reconnect), so JSON output skips what it has printed.
    printed = progress_key(job)
    log_task = start_logs(client, name, progress, out, err, json_mode=json_mode) if logs else None
    try:
        for attempt in range(len(RECONNECT_DELAYS) + 1):
            try:
                async for data in client.subscribe(documents.FOLLOW, {"name": name}):
                    last = data["prowJobUpdated"]
                    if json_mode:
                        if progress_key(last) != printed:
                            printed = progress_key(last)
                            _print_json(out, {"prowJob": last})
                    else:
                        progress.update(last, time.monotonic() - started)
                break
            except Unreachable as exc:
                if attempt == len(RECONNECT_DELAYS):
                    raise
                delay = RECONNECT_DELAYS[attempt]
                progress.close()
                err.write(f"prow-graphql: {exc.message}; reconnecting in {delay:g}s\n")
                await asyncio.sleep(delay)
        if log_task is not None:
            await finish_logs(log_task, drain=True)
    except asyncio.CancelledError:
        progress.close()
        err.write(f"prow-graphql: stopped following; ProwJob {name} keeps running\n")
        raise
    finally:
        if log_task is not None:
            await finish_logs(log_task, drain=False)
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        progress.close()
    state = last.get("state")
    if state == "SUCCESS":
        return EXIT_OK
    if state not in FINAL_STATES:
        err.write(f"prow-graphql: the gateway stopped reporting ProwJob {name} while {state}\n")
    else:
        link = last.get("logLink") or last.get("url")
        err.write(
            f"prow-graphql: {job['job']} ended {state}" + (f": {link}" if link else "") + "\n"
        )
    return EXIT_FAILED


async def _tick(progress: Progress, started: float) -> None:
    while True:
        await asyncio.sleep(1.0)
        progress.tick(time.monotonic() - started)


async def list_jobs(
    connection: Connection, org: str | None, repo: str | None, out: TextIO, err: TextIO
) -> int:
    """Print the configured jobs: every repo's and the periodics, or those of an org (or repo)."""
    if repo and not org:
        err.write("prow-graphql jobs: error: --repo needs --org\n")
        return EXIT_USAGE
    async with _client(connection) as client:
        if org and repo:
            data = await client.execute(documents.REPO_JOBS, {"org": org, "repo": repo})
            repos = [data["repo"]] if data["repo"] else []
            periodics: list[JSONObject] = []
        else:
            data = await client.execute(documents.ALL_JOBS)
            repos = [r for r in data["repos"] if org is None or r["org"] == org]
            periodics = [] if org else data["periodics"]
    jobs = [
        {"org": r["org"], "repo": r["repo"], **job}
        for r in sorted(repos, key=lambda r: (r["org"], r["repo"]))
        for kind in ("presubmits", "postsubmits")
        for job in sorted(r[kind], key=lambda j: j["name"])
    ]
    jobs += sorted(periodics, key=lambda j: j["name"])
    if not jobs:
        err.write(f"prow-graphql: no jobs configured for {org or '*'}/{repo or '*'}\n")
        return EXIT_FAILED
    if connection.json:
        out.write(json.dumps(jobs, indent=2) + "\n")
        return EXIT_OK
    rows = [
        [
            f"{j['org']}/{j['repo']}" if j.get("repo") else "-",
            j["name"],
            j["type"].lower(),
            branches(j) if j["type"] != "PERIODIC" else _schedule(j),
            yes_no(j["alwaysRun"]),
            yes_no(j["optional"]),
            j.get("runIfChanged") or "-",
            j["context"] or "",
        ]
        for j in jobs
    ]
    headers = ["REPO", "NAME", "TYPE", "BRANCHES", "ALWAYS_RUN", "OPTIONAL", "RUN_IF_CHANGED"]
    out.write(table([*headers, "CONTEXT"], rows) + "\n")
    return EXIT_OK


def _schedule(job: Mapping[str, Any]) -> str:
    """A periodic's cron or interval where other jobs show their branches."""
    return str(job.get("cron") or job.get("interval") or job.get("minimumInterval") or "-")
