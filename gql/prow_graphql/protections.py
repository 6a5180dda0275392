"""Flags for the limits that protect the server from hostile or careless callers.

Kept apart from settings.py so that the security limits read as one list; `Settings.protections`
holds them. Every limit names its flag in the error a caller gets when hitting it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Protections:
    """Cost, size, memory and visibility limits (the defaults suit a public endpoint)."""

    max_fragment_spreads: int = 200
    max_query_nodes: int = 200_000
    assumed_list_size: int = 20
    max_response_bytes: int = 8 * MIB
    cache_bytes: int = 32 * MIB
    max_connections_per_identity: int = 100
    max_subscriptions_per_identity: int = 500
    # Callers in this group see `hidden: true` jobs and deck.hidden_repos, as Deck's admins do.
    hidden_jobs_group: str | None = None


def add_protection_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the protection flags (and --max-aliases/--max-tokens) on `parser`."""
    d = Protections()
    add = parser.add_argument
    add(
        "--max-aliases",
        type=int,
        default=30,
        help="most aliases in one operation, counted with fragments expanded",
    )
    add("--max-tokens", type=int, default=2000, help="most lexical tokens in one GraphQL document")
    add(
        "--max-body-bytes",
        type=int,
        default=256 * 1024,
        help="largest request body, and largest WebSocket message, in bytes",
    )
    add(
        "--max-subscriptions-per-connection",
        type=int,
        default=100,
        help="open subscriptions on one WebSocket",
    )
    add(
        "--max-fragment-spreads",
        type=int,
        default=d.max_fragment_spreads,
        help="most fragment spreads in one operation once every spread is expanded",
    )
    add(
        "--max-query-nodes",
        type=int,
        default=d.max_query_nodes,
        help="most fields an operation may resolve, estimated before execution "
        "(a list counts as its `first` argument, else --assumed-list-size)",
    )
    add(
        "--assumed-list-size",
        type=int,
        default=d.assumed_list_size,
        help="items assumed per list without a `first` argument when estimating cost",
    )
    add(
        "--max-response-bytes",
        type=int,
        default=d.max_response_bytes,
        help="largest encoded GraphQL response or subscription message, in bytes",
    )
    add(
        "--cache-bytes",
        type=int,
        default=d.cache_bytes,
        help="memory budget of each cache of caller-chosen data (documents, results, frames)",
    )
    add(
        "--max-connections-per-identity",
        type=int,
        default=d.max_connections_per_identity,
        help="open WebSocket/SSE connections one identity (or address, without auth) may hold",
    )
    add(
        "--max-subscriptions-per-identity",
        type=int,
        default=d.max_subscriptions_per_identity,
        help="open subscriptions one identity (or address, without auth) may hold in all",
    )
    add("--hidden-jobs-group", default=None,
        help="group whose members see hidden jobs (hidden: true, deck.hidden_repos) and their "
        "ProwJobs; everyone else does not (with --auth none nobody does)")  # fmt: skip


def protections_from_args(args: argparse.Namespace) -> Protections:
    """Validate the protection flags; raises ValueError naming the flag."""
    positive = ("max_fragment_spreads", "max_query_nodes", "assumed_list_size",
                "max_response_bytes", "cache_bytes", "max_connections_per_identity",
                "max_subscriptions_per_identity",
                "max_aliases", "max_tokens", "max_body_bytes",
                "max_subscriptions_per_connection")  # fmt: skip
    for name in positive:
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}: must be at least 1")
    return Protections(
        max_fragment_spreads=args.max_fragment_spreads,
        max_query_nodes=args.max_query_nodes,
        assumed_list_size=args.assumed_list_size,
        max_response_bytes=args.max_response_bytes,
        cache_bytes=args.cache_bytes,
        max_connections_per_identity=args.max_connections_per_identity,
        max_subscriptions_per_identity=args.max_subscriptions_per_identity,
        hidden_jobs_group=args.hidden_jobs_group or None,
    )


def server_limits(max_body_bytes: int) -> dict[str, int]:
    """uvicorn.Config options that hold WebSockets to the HTTP body limit.

    uvicorn's default accepts 16 MiB WebSocket messages (and queues 32 of them) whatever the
    HTTP limit; a message is never larger than a request body may be.
    """
    return {"ws_max_size": max_body_bytes, "ws_max_queue": 16}
