"""ProwJob building, the way Prow's pjutil does it: the whole object, its env and status.

Pure and synchronous: the caller passes the time (and optionally the name). Nothing here mutates
the job it is given (the job index is shared): everything taken from the job is deep-copied into
plain dicts and lists before it is changed. Like Go's `omitempty`, empty fields are left out.
Refs, spec and labels are built by prowjob_refs, prowjob_spec and prowjob_labels (re-exported).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prow_graphql.errors import InvalidInput
from prow_graphql.prow.crd_shape import shape_prowjob
from prow_graphql.prow.jobs import Job, Presubmit
from prow_graphql.prow.objects import (
    ANNOTATION_TRIGGERED_BY,
    API_VERSION,
    KIND,
    ProwJobState,
    ProwJobType,
    Refs,
    format_time,
)
from prow_graphql.prow.omitempty import thaw
from prow_graphql.prow.prowjob_labels import (
    LABEL_IS_OPTIONAL,
    LABEL_VALUE_MAX_LENGTH,
    check_keys,
    is_valid_label_value,
    labels_and_annotations,
    sanitise_label_value,
    truncate_label_value,
)
from prow_graphql.prow.prowjob_refs import new_refs, refs_to_json, validate_refs
from prow_graphql.prow.prowjob_spec import build_spec

__all__ = [
    "ENV_AUTHOR",
    "LABEL_IS_OPTIONAL",
    "LABEL_VALUE_MAX_LENGTH",
    "build_prowjob",
    "build_spec",
    "is_valid_label_value",
    "labels_and_annotations",
    "new_prowjob",
    "new_refs",
    "refs_to_json",
    "sanitise_label_value",
    "set_container_env",
    "truncate_label_value",
    "validate_refs",
]

ENV_AUTHOR = "AUTHOR"

_ENV_NAME_RE = re.compile(r"[-._A-Za-z][-._A-Za-z0-9]*")
_MAX_AUTHOR_LENGTH = 256


def build_prowjob(
    job: Job,
    *,
    run_as: ProwJobType,
    refs: Refs | None,
    scheduler_enabled: bool,
    now: datetime,
    name: str | None = None,
    author: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
    extra_annotations: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The complete ProwJob Prow's NewProwJob would create for this run (no namespace).

    Labels are the job's labels overlaid by `extra_labels`; annotations likewise. `env` entries
    and `author` (as env AUTHOR, which wins over `env`) are set in every regular container of the
    pod spec, updating an existing variable of that name or appending it; init containers are
    left alone. `author` is also recorded in the triggered-by annotation.
    """
    overrides = dict(env or {})
    for env_name in overrides:
        if not _ENV_NAME_RE.fullmatch(env_name):
            raise InvalidInput("env", f"{env_name!r} is not a valid environment variable name")
    if author is not None:
        if not author.strip() or len(author) > _MAX_AUTHOR_LENGTH or not author.isprintable():
            raise InvalidInput(
                "author", f"give a printable name of 1 to {_MAX_AUTHOR_LENGTH} characters"
            )
        overrides[ENV_AUTHOR] = author
    check_keys("labels", extra_labels)
    check_keys("annotations", extra_annotations)

    spec = build_spec(job, run_as, refs)
    pod_spec = spec.get("pod_spec")
    if overrides and isinstance(pod_spec, dict):
        set_container_env(pod_spec, overrides)

    labels = dict(job.labels)
    if isinstance(job, Presubmit) and run_as is ProwJobType.PRESUBMIT:
        labels[LABEL_IS_OPTIONAL] = "true" if job.optional else "false"
    labels.update(extra_labels or {})
    annotations = {**job.annotations, **(extra_annotations or {})}
    if author is not None:
        annotations[ANNOTATION_TRIGGERED_BY] = author
    return new_prowjob(
        spec, labels, annotations, scheduler_enabled=scheduler_enabled, now=now, name=name
    )


def new_prowjob(
    spec: Mapping[str, Any],
    extra_labels: Mapping[str, str],
    extra_annotations: Mapping[str, str],
    *,
    scheduler_enabled: bool,
    now: datetime,
    name: str | None = None,
) -> dict[str, Any]:
    """Prow's NewProwJob: a copy of `spec` wrapped with name, labels, annotations and status."""
    spec_copy: dict[str, Any] = thaw(spec)
    _set_slack_report_default(spec_copy)
    labels, annotations = labels_and_annotations(spec_copy, extra_labels, extra_annotations)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    state = ProwJobState.SCHEDULING if scheduler_enabled else ProwJobState.TRIGGERED
    # Every ProwJob the gateway builds passes here: shape it as Prow's CRD makes a cluster store
    # it, so a dryRun manifest is what the API server would keep and a create is never refused
    # for a shape Go's encoder would have fixed.
    return shape_prowjob(
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": name if name is not None else str(uuid.uuid4()),
                "labels": labels,
                "annotations": annotations,
            },
            "spec": spec_copy,
            "status": {"startTime": format_time(now.astimezone(UTC)), "state": str(state)},
        }
    )


def set_container_env(pod_spec: dict[str, Any], values: Mapping[str, str]) -> None:
    """Set each variable in every regular container: update entries of that name, else append."""
    for container in pod_spec.get("containers") or ():
        env: list[dict[str, Any]] = container.setdefault("env", [])
        for env_name, value in values.items():
            found = False
            for index, entry in enumerate(env):
                if entry.get("name") == env_name:
                    env[index] = {"name": env_name, "value": value}  # drops any valueFrom
                    found = True
            if not found:
                env.append({"name": env_name, "value": value})


def _set_slack_report_default(spec: dict[str, Any]) -> None:
    """Prow's setReportDefault: an explicitly empty job_states_to_report means report: false."""
    reporter = spec.get("reporter_config")
    slack = reporter.get("slack") if isinstance(reporter, dict) else None
    if not isinstance(slack, dict) or slack.get("report") is not None:
        return
    states = slack.get("job_states_to_report")
    slack["report"] = not (states is not None and len(states) == 0)
    if states is not None and len(states) == 0:
        del slack["job_states_to_report"]  # Go's omitempty drops the empty list
