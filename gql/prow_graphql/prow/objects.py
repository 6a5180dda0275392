"""The one place that knows ProwJob JSON field names: enums, label keys, and a parsed read view.

`ProwJobRecord.from_object` turns a raw ProwJob (as the store returns it) into a frozen record that
the informer caches and GraphQL renders. Note Prow's mixed casing: startTime / pendingTime /
completionTime are camelCase, build_id / pod_name are snake_case.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from prow_graphql.prow.compact import EMPTY, FrozenMap, text

API_VERSION = "prow.k8s.io/v1"
KIND = "ProwJob"
GROUP = "prow.k8s.io"
VERSION = "v1"
PLURAL = "prowjobs"

LABEL_CREATED_BY_PROW = "created-by-prow"
LABEL_TYPE = "prow.k8s.io/type"
LABEL_JOB = "prow.k8s.io/job"
LABEL_CONTEXT = "prow.k8s.io/context"
LABEL_ORG = "prow.k8s.io/refs.org"
LABEL_REPO = "prow.k8s.io/refs.repo"
LABEL_BASE_REF = "prow.k8s.io/refs.base_ref"
LABEL_PULL = "prow.k8s.io/refs.pull"

# Our own annotations (prefix keeps them apart from Prow's keys).
ANNOTATION_TRIGGERED_BY = "prow-graphql.prow.k8s.io/triggered-by"
ANNOTATION_IDEMPOTENCY_KEY = "prow-graphql.prow.k8s.io/idempotency-key"

_E = TypeVar("_E", bound=enum.StrEnum)


class ProwJobType(enum.StrEnum):
    """spec.type values."""

    PRESUBMIT = "presubmit"
    POSTSUBMIT = "postsubmit"
    PERIODIC = "periodic"
    BATCH = "batch"


class ProwJobState(enum.StrEnum):
    """status.state values."""

    SCHEDULING = "scheduling"
    TRIGGERED = "triggered"
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ABORTED = "aborted"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        """True for success, failure, aborted and error: the job will not run again."""
        return self in _FINAL_STATES


_FINAL_STATES = frozenset(
    {ProwJobState.SUCCESS, ProwJobState.FAILURE, ProwJobState.ABORTED, ProwJobState.ERROR}
)


@dataclass(frozen=True, slots=True)
class Pull:
    """One pull request of a Refs."""

    number: int
    author: str = ""
    sha: str = ""
    title: str = ""
    ref: str = ""
    link: str = ""
    commit_link: str = ""
    author_link: str = ""
    head_ref: str = ""


@dataclass(frozen=True, slots=True)
class Refs:
    """The repository (and pulls) a ProwJob tests."""

    org: str
    repo: str
    repo_link: str = ""
    base_ref: str = ""
    base_sha: str = ""
    base_link: str = ""
    pulls: tuple[Pull, ...] = ()
    path_alias: str = ""


@dataclass(frozen=True, slots=True)
class ProwJobRecord:
    """A read-only view of one ProwJob object, parsed once when it enters the cache."""

    name: str
    namespace: str
    resource_version: str
    type: ProwJobType
    job: str
    state: ProwJobState
    context: str = ""
    cluster: str = ""
    agent: str = ""
    description: str = ""
    build_id: str = ""
    pod_name: str = ""
    url: str = ""
    refs: Refs | None = None
    extra_refs: tuple[Refs, ...] = ()
    start_time: datetime | None = None
    pending_time: datetime | None = None
    completion_time: datetime | None = None
    labels: Mapping[str, str] = EMPTY
    annotations: Mapping[str, str] = EMPTY
    # spec.hidden: Deck hides the run (see visibility.py); kept because the raw spec is not.
    hidden: bool = False
    # Kept for compatibility; the cache no longer holds raw objects (see from_object).
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def primary_refs(self) -> Refs | None:
        """`refs`, or for periodics the first extra ref (as Prow's labels and links use it)."""
        if self.refs is not None:
            return self.refs
        return self.extra_refs[0] if self.extra_refs else None

    @property
    def is_final(self) -> bool:
        """True once the job reached success, failure, aborted or error."""
        return self.state.is_final

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ProwJobRecord:
        """Parse a raw ProwJob; tolerant of missing optional fields and unknown values.

        The record keeps what queries and subscriptions serve, with repeated strings shared
        (see `compact`), not the raw object (`raw` stays empty): the informer caches thousands
        of records, and the full object is one `store.get` away.
        """
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        refs = spec.get("refs")
        name = str(meta.get("name", ""))
        pod_name = text(status.get("pod_name"))
        return cls(
            name=name,
            namespace=text(meta.get("namespace")),
            resource_version=str(meta.get("resourceVersion", "")),
            type=_enum(ProwJobType, spec.get("type"), ProwJobType.PERIODIC),
            job=text(spec.get("job")),
            state=_enum(ProwJobState, status.get("state"), ProwJobState.TRIGGERED),
            context=text(spec.get("context")),
            cluster=text(spec.get("cluster")),
            agent=text(spec.get("agent")),
            description=text(status.get("description")),
            build_id=str(status.get("build_id") or ""),
            pod_name=name if pod_name == name else pod_name,
            url=str(status.get("url") or ""),
            refs=parse_refs(refs) if isinstance(refs, Mapping) else None,
            extra_refs=tuple(
                parse_refs(r) for r in spec.get("extra_refs") or () if isinstance(r, Mapping)
            ),
            start_time=parse_time(status.get("startTime")),
            pending_time=parse_time(status.get("pendingTime")),
            completion_time=parse_time(status.get("completionTime")),
            labels=FrozenMap(meta.get("labels")),
            annotations=FrozenMap(meta.get("annotations")),
            hidden=spec.get("hidden") is True,
        )


def parse_refs(data: Mapping[str, Any]) -> Refs:
    """Parse a Refs JSON object."""
    return Refs(
        org=text(data.get("org")),
        repo=text(data.get("repo")),
        repo_link=text(data.get("repo_link")),
        base_ref=text(data.get("base_ref")),
        base_sha=str(data.get("base_sha") or ""),
        base_link=str(data.get("base_link") or ""),
        path_alias=text(data.get("path_alias")),
        pulls=tuple(
            Pull(
                number=int(p.get("number") or 0),
                author=text(p.get("author")),
                sha=str(p.get("sha") or ""),
                title=str(p.get("title") or ""),
                ref=text(p.get("ref")),
                link=str(p.get("link") or ""),
                commit_link=str(p.get("commit_link") or ""),
                author_link=text(p.get("author_link")),
                head_ref=text(p.get("head_ref")),
            )
            for p in data.get("pulls") or ()
            if isinstance(p, Mapping)
        ),
    )


def parse_time(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp as Kubernetes writes it ("2026-01-02T03:04:05Z")."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_time(value: datetime) -> str:
    """Format a timestamp the way Kubernetes does (UTC, second precision, trailing Z)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _enum(kind: type[_E], value: Any, default: _E) -> _E:
    try:
        return kind(value)
    except ValueError:
        return default
