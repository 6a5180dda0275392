"""Prometheus metrics of one server: its own registry (never the process-wide default, so several
servers can run in one process), methods to observe each event, and `render()` for `/metrics`.

Values that live elsewhere (informer cache size, watch restarts and relists) are read on scrape from
callables given to `bind`. Serving the endpoint is the app's job, not this module's.
"""

from __future__ import annotations

import enum
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX = "prow_graphql"
# Latency buckets in seconds: GraphQL reads are milliseconds; a trigger waits on the API server.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OTHER = "other"
ANONYMOUS_OPERATION = "anonymous"
INVALID_OPERATION = "invalid"
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
GANGWAY_TRANSPORTS = ("rest", "grpc")
GANGWAY_METHODS = (
    "CreateJobExecution",
    "GetJobExecution",
    "ListJobExecutions",
    "BulkJobStatusChange",
    "WatchJobExecution",
)
_STATUS_CODE = re.compile(r"[A-Z_]{2,32}")  # a gRPC status code name

Provider = Callable[[], float]


class Outcome(enum.StrEnum):
    """How a request ended."""

    SUCCESS = "success"
    USER_ERROR = "user_error"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    REJECTED = "rejected"
    ERROR = "error"


class OperationType(enum.StrEnum):
    """GraphQL operation types (`unknown` when the document did not parse)."""

    QUERY = "query"
    MUTATION = "mutation"
    SUBSCRIPTION = "subscription"
    UNKNOWN = "unknown"


class CreateResult(enum.StrEnum):
    """What happened to a ProwJob the gateway built."""

    CREATED = "created"
    DRY_RUN = "dry_run"
    EXISTING = "existing"  # an idempotency key matched a ProwJob created earlier
    FAILED = "failed"


class Metrics:
    """Every metric the gateway exports, in a registry of its own."""

    def __init__(self, *, max_operation_names: int = 200) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._max_operation_names = max_operation_names
        self._operation_names: set[str] = set()
        self._requests = Counter(
            f"{PREFIX}_requests",
            "GraphQL operations by type, operation name and outcome.",
            ("operation_type", "operation_name", "outcome"),
            registry=reg,
        )
        self._latency = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "GraphQL operation latency by operation type (subscriptions: until the first result).",
            ("operation_type",),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._manual_trigger = Counter(
            f"{PREFIX}_manual_trigger_requests",
            "REST /manual-trigger requests by outcome.",
            ("outcome",),
            registry=reg,
        )
        self._manual_trigger_latency = Histogram(
            f"{PREFIX}_manual_trigger_duration_seconds",
            "REST /manual-trigger latency, including the wait for a BuildID.",
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._gangway = Counter(
            f"{PREFIX}_gangway_requests",
            "gangway API calls (REST /v1 and gRPC) by transport, method and gRPC status code.",
            ("transport", "method", "code"),
            registry=reg,
        )
        self._gangway_latency = Histogram(
            f"{PREFIX}_gangway_request_duration_seconds",
            "gangway API latency by transport and method (Watch: until its first message).",
            ("transport", "method"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self._prowjobs = Counter(
            f"{PREFIX}_prowjob_creations",
            "ProwJobs built by the gateway, by result (created, dry_run, failed).",
            ("result",),
            registry=reg,
        )
        self._subscriptions = Gauge(
            f"{PREFIX}_active_subscriptions", "GraphQL subscriptions now open.", registry=reg
        )
        self._reloads = Counter(
            f"{PREFIX}_config_reloads",
            "Prow config reloads by result (success, failure).",
            ("result",),
            registry=reg,
        )
        self._reload_ok = Gauge(
            f"{PREFIX}_config_last_reload_successful",
            "1 if the last config reload succeeded, 0 if it failed (the old config is served).",
            registry=reg,
        )
        self._reload_time = Gauge(
            f"{PREFIX}_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load.",
            registry=reg,
        )
        self._bound = _BoundValues()
        reg.register(self._bound)
        # Known label values start at 0, so rates and alerts work before the first event.
        for result in CreateResult:
            self._prowjobs.labels(result=result.value)
        for ok in ("success", "failure"):
            self._reloads.labels(result=ok)
        for outcome in Outcome:
            self._manual_trigger.labels(outcome=outcome.value)

    def observe_request(
        self, operation_type: str, operation_name: str | None, outcome: str, seconds: float
    ) -> None:
        """Count one GraphQL operation and record its latency."""
        op_type = _known(operation_type, OperationType, OperationType.UNKNOWN)
        self._requests.labels(
            operation_type=op_type,
            operation_name=self._operation_label(operation_name),
            outcome=_known(outcome, Outcome, OTHER),
        ).inc()
        self._latency.labels(operation_type=op_type).observe(max(seconds, 0.0))

    def observe_manual_trigger(self, outcome: str, seconds: float) -> None:
        """Count one REST /manual-trigger request and record its latency."""
        self._manual_trigger.labels(outcome=_known(outcome, Outcome, OTHER)).inc()
        self._manual_trigger_latency.observe(max(seconds, 0.0))

    def observe_gangway(self, transport: str, method: str, code: str, seconds: float) -> None:
        """Count one gangway call (REST or gRPC) by its gRPC status code; record its latency."""
        transport = transport if transport in GANGWAY_TRANSPORTS else OTHER
        method = method if method in GANGWAY_METHODS else OTHER
        code = code if _STATUS_CODE.fullmatch(code) else OTHER
        self._gangway.labels(transport=transport, method=method, code=code).inc()
        self._gangway_latency.labels(transport=transport, method=method).observe(max(seconds, 0.0))

    def observe_prowjob(self, result: str) -> None:
        """Count one ProwJob built: created, dry_run or failed."""
        self._prowjobs.labels(result=_known(result, CreateResult, OTHER)).inc()

    def subscription_started(self) -> None:
        """One more open subscription."""
        self._subscriptions.inc()

    def subscription_ended(self) -> None:
        """One fewer open subscription."""
        self._subscriptions.dec()

    @contextmanager
    def subscription(self) -> Iterator[None]:
        """Count a subscription as open for the duration of the block."""
        self.subscription_started()
        try:
            yield
        finally:
            self.subscription_ended()

    def observe_config_reload(self, ok: bool, at: float | None = None) -> None:
        """Record a config (re)load; `at` (Unix time, default now) is kept when it succeeded."""
        self._reloads.labels(result="success" if ok else "failure").inc()
        self._reload_ok.set(1 if ok else 0)
        if ok:
            self._reload_time.set(time.time() if at is None else at)

    def bind(
        self,
        *,
        cache_size: Provider | None = None,
        watch_restarts: Provider | None = None,
        watch_relists: Provider | None = None,
        watch_errors: Provider | None = None,
    ) -> None:
        """Read these values on each scrape (e.g. `lambda: informer.stats.relists`)."""
        self._bound.bind(
            cache_size=cache_size,
            watch_restarts=watch_restarts,
            watch_relists=watch_relists,
            watch_errors=watch_errors,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for a `/metrics` response."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _operation_label(self, name: str | None) -> str:
        # Operation names come from clients: bound the label's cardinality.
        if not name:
            return ANONYMOUS_OPERATION
        if _OPERATION_NAME.fullmatch(name) is None:
            return INVALID_OPERATION
        if name not in self._operation_names:
            if len(self._operation_names) >= self._max_operation_names:
                return OTHER
            self._operation_names.add(name)
        return name


_BOUND_METRICS: dict[str, tuple[str, str]] = {
    # key: (metric kind, help)
    "cache_size": ("gauge", "ProwJobs in the informer cache."),
    "watch_restarts": ("counter", "Watch streams resumed after they ended."),
    "watch_relists": ("counter", "Full relists after a watch expired (410 Gone)."),
    "watch_errors": ("counter", "Backend errors in the list/watch loop."),
}


class _BoundValues(Collector):
    """Metrics whose values come from callables, read at scrape time."""

    def __init__(self) -> None:
        self._providers: dict[str, Provider] = {}

    def bind(self, **providers: Provider | None) -> None:
        for key, provider in providers.items():
            if provider is not None:
                self._providers[key] = provider

    def describe(self) -> Iterable[Metric]:
        return [_family(key, None) for key in _BOUND_METRICS]

    def collect(self) -> Iterable[Metric]:
        for key, provider in list(self._providers.items()):
            try:
                value = float(provider())
            except Exception:  # a scrape must not fail because one source did
                log.exception("metrics provider %s failed", key)
                continue
            yield _family(key, value)


def _family(key: str, value: float | None) -> Metric:
    kind, doc = _BOUND_METRICS[key]
    name = f"{PREFIX}_informer_{key}"
    if kind == "counter":
        return CounterMetricFamily(name, doc, value=value)
    return GaugeMetricFamily(name, doc, value=value)


def _known(value: str, allowed: type[enum.StrEnum], fallback: str) -> str:
    return value if value in {m.value for m in allowed} else str(fallback)
