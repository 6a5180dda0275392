"""The flags of `prow-graphql trigger` and `jobs` (declarations only: cheap to import)."""

from __future__ import annotations

import argparse

JOB_TYPES = ("presubmit", "postsubmit", "periodic")


def _add_common(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--url",
        help="the gateway's base URL, e.g. http://127.0.0.1:8080 (default: $PROW_GRAPHQL_URL)",
    )
    add(
        "--token", help="bearer token when the gateway authenticates (default: $PROW_GRAPHQL_TOKEN)"
    )
    add("--json", action="store_true", help="print JSON instead of text")
    add(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for a connection or an HTTP answer (default: 30)",
    )


def add_trigger_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `trigger`'s flags on `parser`."""
    _add_common(parser)
    add = parser.add_argument
    add("--org", default="", help="GitHub org (not needed for periodics)")
    add("--repo", default="", help="repository (not needed for periodics)")
    add("--job", required=True, help="job name from the Prow config")
    add(
        "--type",
        choices=JOB_TYPES,
        help="the type to run as (default: presubmit with --pr, postsubmit without)",
    )
    add("--base-ref", default="main", help="branch to test (default: main)")
    add("--pr", type=int, metavar="N", help="pull request number (runs as a presubmit)")
    add("--pr-sha", metavar="SHA", help="the pull request's head SHA (default: its current head)")
    add("--author", help="recorded as the job's AUTHOR (ignored when the gateway authenticates)")
    add("--dry-run", action="store_true", help="build the ProwJob and print it; create nothing")
    add(
        "--follow",
        action="store_true",
        help="follow the job until it finishes; exit 0 on success, 1 otherwise",
    )
    add(
        "--logs",
        action="store_true",
        help="with --follow: print the test container's output as it is written",
    )


def add_jobs_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `jobs`' flags on `parser`."""
    _add_common(parser)
    parser.add_argument(
        "--org", help="only this GitHub org's jobs (default: every repo's jobs and the periodics)"
    )
    parser.add_argument("--repo", help="only this repository (with --org)")
