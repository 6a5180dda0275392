"""The service's request, outcome and filter values, shared by every interface."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from prow_graphql.errors import UserError
from prow_graphql.prow.objects import ProwJobRecord, ProwJobState, ProwJobType
from prow_graphql.store.base import ProwJobObject


@dataclass(frozen=True, slots=True)
class PullRequestInput:
    """The pull request a presubmit run tests."""

    number: int
    sha: str = ""
    author: str = ""


@dataclass(frozen=True, slots=True)
class TriggerRequest:
    """What a caller asks to run. `type` is the type to run as."""

    org: str
    repo: str
    job: str
    type: ProwJobType
    base_ref: str = ""
    # The commit of base_ref to test (40 hex); "" lets clonerefs take the branch head at run time
    base_sha: str = ""
    pull_request: PullRequestInput | None = None
    author: str = ""
    dry_run: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str = ""
    # Overlaid on the job's labels and annotations, as gangway's pod_spec_options do.
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TriggerOutcome:
    """The ProwJob created (or, for a dry run, the one that would be).

    `existing` is True when an idempotency key matched a job created earlier.
    """

    prowjob: ProwJobObject
    record: ProwJobRecord
    dry_run: bool
    status_link: str | None
    log_link: str | None
    existing: bool = False


class RerunMode(enum.Enum):
    """Deck's rerun modes: copy the old spec, or rebuild from the current config."""

    ORIGINAL = "original"
    LATEST = "latest"


class NotAbortable(UserError):
    """The ProwJob is already finished (only triggered or pending jobs can be aborted)."""


@dataclass(frozen=True)
class Policy:
    """Server-wide rules for mutations, from Settings."""

    authorize: bool = False
    dry_run: bool = False
    enable_abort: bool = False
    env_allowlist: tuple[str, ...] = ()
    idempotency_window: timedelta = timedelta(hours=24)
    # gangway's rule: base_sha required, and a 40-hex PR head sha for presubmits
    require_shas: bool = False


@dataclass(frozen=True, slots=True)
class ProwJobFilter:
    """Filters shared by the prowJobs query and the prowJobEvents subscription."""

    org: str | None = None
    repo: str | None = None
    job: str | None = None
    type: ProwJobType | None = None
    state: ProwJobState | None = None

    def matches(self, record: ProwJobRecord) -> bool:
        """Whether `record` passes every set filter (org/repo from refs, else extra_refs[0])."""
        if self.job is not None and record.job != self.job:
            return False
        if self.type is not None and record.type is not self.type:
            return False
        if self.state is not None and record.state is not self.state:
            return False
        if self.org is not None or self.repo is not None:
            refs = record.primary_refs
            if refs is None:
                return False
            if self.org is not None and refs.org != self.org:
                return False
            if self.repo is not None and refs.repo != self.repo:
                return False
        return True


@dataclass(frozen=True, slots=True)
class ProwJobPage:
    """One page of ProwJobs, newest first."""

    records: list[ProwJobRecord]
    cursors: list[str]
    has_next_page: bool
    total_count: int
