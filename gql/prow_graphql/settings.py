"""Every flag of `prow-graphql serve`, parsed and validated once into a frozen `Settings`.

Nothing reads the environment at import time; `Settings` is passed down explicitly so several
servers can run side by side in one process (tests do).
"""

from __future__ import annotations

import argparse
import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prow_graphql.protections import Protections, add_protection_arguments, protections_from_args


class Backend(enum.StrEnum):
    """Where ProwJobs live."""

    KUBE = "kube"
    MEMORY = "memory"


class AuthMode(enum.StrEnum):
    """How callers are identified."""

    NONE = "none"
    TOKEN = "token"
    PROXY = "proxy"


@dataclass(frozen=True)
class Settings:
    """The gateway's whole configuration."""

    config_path: Path
    job_config_path: Path | None = None
    # Prow's --supplemental-prow-config-dir / --supplemental-prow-configs-filename-suffix
    supplemental_prow_config_dirs: tuple[Path, ...] = ()
    supplemental_prow_configs_suffix: str = "_prowconfig.yaml"
    # Like gangway: refuse triggers without base SHA (and PR head SHA for presubmits).
    require_shas: bool = False
    backend: Backend = Backend.KUBE
    host: str = "127.0.0.1"
    port: int = 8080
    metrics_port: int = 9090
    # Gangway's gRPC API (prow_graphql.gangway) on its own port; 0: off.
    grpc_port: int = 0
    namespace: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    deck_url: str | None = None
    # Contexts named after Prow's cluster aliases, for live pod logs (prowJobLog).
    build_cluster_kubeconfig: str | None = None
    dry_run: bool = False
    dev: bool = False
    graphiql: bool = True
    introspection: bool = True
    auth: AuthMode = AuthMode.NONE
    token_file: Path | None = None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    enable_abort: bool = False
    cors_origins: tuple[str, ...] = ()
    env_allowlist: tuple[str, ...] = ()
    idempotency_window_hours: float = 24.0
    # Embedded backend: the plank simulator's pace.
    sim_pending_after: float = 1.0
    sim_complete_after: float = 4.0
    sim_failure_rate: float = 0.0
    # How long /manual-trigger waits for a BuildID (a convenience, not a correctness bound).
    build_id_wait: float = 15.0
    # On SIGTERM, open streams (SSE, multipart, WebSocket) get this long to end before they are
    # cut; without a bound one open SSE subscription holds the process until Kubernetes kills it.
    shutdown_timeout: float = 10.0
    # How long prowJobUpdated waits for a job that the watch has not delivered yet.
    follow_wait: float = 30.0
    watch_timeout_seconds: int = 300
    watch_inactivity_timeout: float = 600.0
    # /readyz fails once list/watch has kept failing this long (stale data must not look fresh).
    stale_after: float = 120.0
    # Jobs a live-feed client may fall behind by before it must resync (see backpressure.py).
    subscriber_queue_limit: int = 1000
    config_reload_interval: float = 1.0
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 256 * 1024
    max_subscriptions_per_connection: int = 100
    log_format: str = "text"
    log_level: str = "INFO"
    protections: Protections = field(default_factory=Protections)
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def mask_errors(self) -> bool:
        """Unexpected errors are masked unless running in development mode."""
        return not self.dev


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `serve`'s flags on `parser`."""
    d = Settings(config_path=Path("config.yaml"))
    add = parser.add_argument
    add("--config-path", required=True, type=Path, help="Prow's config.yaml")
    add("--job-config-path", type=Path, help="a job config file or directory (walked recursively)")
    add(
        "--supplemental-prow-config-dir",
        type=Path,
        action="append",
        default=[],
        help="an extra directory of ProwConfig fragments, as Prow's flag (repeatable)",
    )
    add(
        "--supplemental-prow-configs-filename-suffix",
        default=d.supplemental_prow_configs_suffix,
        help="only supplemental files whose name ends with this are read",
    )
    add(
        "--require-shas",
        action="store_true",
        help="refuse triggers without baseSha (and the PR head sha for presubmits), as gangway",
    )
    add(
        "--backend",
        choices=[b.value for b in Backend],
        default=d.backend.value,
        help="kube: a Kubernetes API server (default); memory: embedded, with a simulated plank",
    )
    add("--host", default=d.host, help="address to listen on")
    add("--port", type=int, default=d.port, help="HTTP port (GraphQL, REST, probes)")
    add("--metrics-port", type=int, default=d.metrics_port, help="Prometheus port (0: off)")
    add("--grpc-port", type=int, default=d.grpc_port, help="gangway gRPC API port (0: off)")
    add("--namespace", help="ProwJob namespace (default: prowjob_namespace from config.yaml)")
    add("--kubeconfig", help="kubeconfig file (default: in-cluster, then $KUBECONFIG/~/.kube)")
    add("--context", help="kubeconfig context")
    add("--deck-url", help="Deck's base URL for status and log links")
    add(
        "--build-cluster-kubeconfig",
        help="kubeconfig whose contexts are Prow's build cluster aliases (e.g. default): "
        "prowJobLog follows test pods' logs there (kube backend; needs pods/log get)",
    )
    add("--dry-run", action="store_true", help="build ProwJobs but never create them")
    add("--dev", action="store_true", help="development mode: unmasked errors, text logs")
    add("--no-graphiql", dest="graphiql", action="store_false", help="do not serve GraphiQL")
    add(
        "--no-introspection",
        dest="introspection",
        action="store_false",
        help="disable schema introspection",
    )
    add(
        "--auth",
        choices=[a.value for a in AuthMode],
        default=d.auth.value,
        help="identity: none (author from the request), token (bearer tokens), proxy (headers)",
    )
    add("--token-file", type=Path, help="YAML file of tokens → user and groups (--auth token)")
    add(
        "--trusted-proxies",
        default="",
        help="comma-separated addresses/CIDRs allowed to set identity headers (--auth proxy)",
    )
    add("--enable-abort", action="store_true", help="allow abortProwJob (needs RBAC patch)")
    add("--cors-origins", default="", help="comma-separated origins allowed by CORS")
    add(
        "--env-allowlist",
        default="",
        help="comma-separated env names (shell patterns, e.g. PARAM_*) triggerJob may override",
    )
    add(
        "--idempotency-window",
        type=float,
        default=d.idempotency_window_hours,
        help="hours an idempotencyKey keeps returning the job it created",
    )
    add(
        "--sim-pending-after",
        type=float,
        default=d.sim_pending_after,
        help="memory backend: seconds from triggered to pending",
    )
    add(
        "--sim-complete-after",
        type=float,
        default=d.sim_complete_after,
        help="memory backend: seconds from pending to success/failure",
    )
    add(
        "--sim-failure-rate",
        type=float,
        default=d.sim_failure_rate,
        help="memory backend: share of simulated jobs that fail (0..1)",
    )
    add(
        "--shutdown-timeout",
        type=float,
        default=d.shutdown_timeout,
        help="seconds open streams get to end on SIGTERM before they are cut (keep it below the "
        "pod's terminationGracePeriodSeconds)",
    )
    add(
        "--build-id-wait",
        type=float,
        default=d.build_id_wait,
        help="seconds /manual-trigger waits for a BuildID before answering without it",
    )
    add(
        "--config-reload-interval",
        type=float,
        default=d.config_reload_interval,
        help="seconds between checks of the config files for changes (0: never reload)",
    )
    add(
        "--max-query-depth",
        type=int,
        default=d.max_query_depth,
        help="deepest selection nesting accepted in one GraphQL document",
    )
    add(
        "--watch-timeout",
        type=int,
        default=d.watch_timeout_seconds,
        help="server-side timeout of one watch request, seconds",
    )
    add(
        "--follow-wait",
        type=float,
        default=d.follow_wait,
        help="seconds a subscription waits for the first sync, or for a job not yet watched",
    )
    add(
        "--stale-after",
        type=float,
        default=d.stale_after,
        help="seconds of failing list/watch after which /readyz reports not ready",
    )
    add(
        "--subscriber-queue-limit",
        type=int,
        default=d.subscriber_queue_limit,
        help="jobs a live-feed client may fall behind by before it gets a resync error",
    )
    add(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help="log line format (default: json, or text with --dev)",
    )
    add("--log-level", default=d.log_level)
    add_protection_arguments(parser)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Validate parsed flags into `Settings`; raises ValueError naming the flag and the fix."""
    if not args.config_path.is_file():
        raise ValueError(
            f"--config-path: {args.config_path} is not a file; pass Prow's config.yaml"
        )
    if args.job_config_path is not None and not args.job_config_path.exists():
        raise ValueError(f"--job-config-path: {args.job_config_path} does not exist")
    if args.stale_after <= 0:
        raise ValueError("--stale-after: must be a positive number of seconds")
    if args.subscriber_queue_limit < 1:
        raise ValueError("--subscriber-queue-limit: must be at least 1")

    if args.build_cluster_kubeconfig and not Path(args.build_cluster_kubeconfig).is_file():
        raise ValueError(
            f"--build-cluster-kubeconfig: {args.build_cluster_kubeconfig} is not a file"
        )
    for directory in args.supplemental_prow_config_dir:
        if not directory.is_dir():
            raise ValueError(f"--supplemental-prow-config-dir: {directory} is not a directory")
    if not 0 < args.port < 65536:
        raise ValueError("--port: must be between 1 and 65535")
    if not 0 <= args.grpc_port < 65536:
        raise ValueError("--grpc-port: must be between 0 (off) and 65535")
    if not 0 <= args.metrics_port < 65536:
        raise ValueError("--metrics-port: must be between 0 (off) and 65535")
    if not 0.0 <= args.sim_failure_rate <= 1.0:
        raise ValueError("--sim-failure-rate: must be between 0 and 1")
    if min(args.sim_pending_after, args.sim_complete_after) < 0:
        raise ValueError("--sim-pending-after/--sim-complete-after: must not be negative")
    if args.max_query_depth < 1:
        raise ValueError("--max-query-depth: must be at least 1")
    if args.idempotency_window <= 0:
        raise ValueError("--idempotency-window: must be a positive number of hours")
    auth = AuthMode(args.auth)
    if auth is AuthMode.TOKEN and args.token_file is None:
        raise ValueError("--auth token needs --token-file (a YAML file of tokens)")
    try:
        proxies = tuple(
            ipaddress.ip_network(p.strip(), strict=False)
            for p in args.trusted_proxies.split(",")
            if p.strip()
        )
    except ValueError as exc:
        raise ValueError(f"--trusted-proxies: {exc}") from exc
    if auth is AuthMode.PROXY and not proxies:
        raise ValueError("--auth proxy needs --trusted-proxies (addresses of the auth proxy)")
    log_format = args.log_format or ("text" if args.dev else "json")
    protections = protections_from_args(args)
    return Settings(
        config_path=args.config_path,
        job_config_path=args.job_config_path,
        supplemental_prow_config_dirs=tuple(args.supplemental_prow_config_dir),
        supplemental_prow_configs_suffix=args.supplemental_prow_configs_filename_suffix,
        require_shas=args.require_shas,
        backend=Backend(args.backend),
        host=args.host,
        port=args.port,
        metrics_port=args.metrics_port,
        grpc_port=args.grpc_port,
        namespace=args.namespace,
        kubeconfig=args.kubeconfig,
        context=args.context,
        deck_url=args.deck_url.rstrip("/") if args.deck_url else None,
        build_cluster_kubeconfig=args.build_cluster_kubeconfig,
        dry_run=args.dry_run,
        dev=args.dev,
        graphiql=args.graphiql,
        introspection=args.introspection,
        auth=auth,
        token_file=args.token_file,
        trusted_proxies=proxies,
        enable_abort=args.enable_abort,
        cors_origins=tuple(o.strip() for o in args.cors_origins.split(",") if o.strip()),
        env_allowlist=tuple(e.strip() for e in args.env_allowlist.split(",") if e.strip()),
        idempotency_window_hours=args.idempotency_window,
        sim_pending_after=args.sim_pending_after,
        sim_complete_after=args.sim_complete_after,
        sim_failure_rate=args.sim_failure_rate,
        build_id_wait=args.build_id_wait,
        shutdown_timeout=args.shutdown_timeout,
        watch_timeout_seconds=args.watch_timeout,
        follow_wait=args.follow_wait,
        stale_after=args.stale_after,
        subscriber_queue_limit=args.subscriber_queue_limit,
        config_reload_interval=args.config_reload_interval,
        max_query_depth=args.max_query_depth,
        max_aliases=args.max_aliases,
        max_tokens=args.max_tokens,
        max_body_bytes=args.max_body_bytes,
        max_subscriptions_per_connection=args.max_subscriptions_per_connection,
        protections=protections,
        log_format=log_format,
        log_level=args.log_level.upper(),
    )


def parse_serve_args(argv: Sequence[str]) -> Settings:
    """Parse `serve` flags (without the subcommand) into Settings; for tests and embedding."""
    parser = argparse.ArgumentParser(prog="prow-graphql serve")
    add_serve_arguments(parser)
    return settings_from_args(parser.parse_args(list(argv)))
