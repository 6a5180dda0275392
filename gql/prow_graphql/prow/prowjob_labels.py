"""ProwJob labels and annotations as Prow sets them: truncated and sanitised label values, and
the key checks for labels and annotations a caller adds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prow_graphql.errors import InvalidInput
from prow_graphql.prow.objects import (
    LABEL_BASE_REF,
    LABEL_CONTEXT,
    LABEL_CREATED_BY_PROW,
    LABEL_JOB,
    LABEL_ORG,
    LABEL_PULL,
    LABEL_REPO,
    LABEL_TYPE,
)

LABEL_VALUE_MAX_LENGTH = 63
# Set by Prow's trigger plugin on presubmit ProwJobs; crier's failure comment reads it.
LABEL_IS_OPTIONAL = "prow.k8s.io/is-optional"

_LABEL_VALUE_RE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_NAME_PART_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN_RE = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)


def labels_and_annotations(
    spec: Mapping[str, Any],
    extra_labels: Mapping[str, str],
    extra_annotations: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Prow's labels (truncated, sanitised) and annotations (full job and context) for a spec."""
    job = str(spec.get("job") or "")
    context = str(spec.get("context") or "")
    labels = {
        LABEL_CREATED_BY_PROW: "true",
        LABEL_TYPE: str(spec.get("type") or ""),
        LABEL_JOB: truncate_label_value(job),
        LABEL_CONTEXT: truncate_label_value(context),
    }
    refs = spec.get("refs")
    if not isinstance(refs, Mapping):
        extra = spec.get("extra_refs") or ()
        refs = extra[0] if extra and isinstance(extra[0], Mapping) else None
    if refs is not None:
        labels[LABEL_ORG] = str(refs.get("org") or "")
        labels[LABEL_REPO] = str(refs.get("repo") or "")
        labels[LABEL_BASE_REF] = str(refs.get("base_ref") or "")
        pulls = refs.get("pulls") or ()
        if pulls and isinstance(pulls[0], Mapping):
            labels[LABEL_PULL] = str(pulls[0].get("number", ""))
    labels.update(extra_labels)
    sanitised: dict[str, str] = {}
    for key, value in labels.items():
        fixed = sanitise_label_value(value)
        if fixed is not None:
            sanitised[key] = fixed
    annotations = {LABEL_JOB: job, LABEL_CONTEXT: context, **extra_annotations}
    return sanitised, annotations


def truncate_label_value(value: str) -> str:
    """Cut a value longer than 63 characters to 63, then strip trailing '.', '_' and '-'."""
    if len(value) <= LABEL_VALUE_MAX_LENGTH:
        return value
    return value[:LABEL_VALUE_MAX_LENGTH].rstrip("._-")


def sanitise_label_value(value: str) -> str | None:
    """The value if valid, else its path basename if that is valid, else None (drop the label)."""
    if is_valid_label_value(value):
        return value
    trimmed = value.rstrip("/")
    base = trimmed.rsplit("/", 1)[-1] if trimmed else "/"
    return base if is_valid_label_value(base) else None


def is_valid_label_value(value: str) -> bool:
    """Kubernetes label value: at most 63 characters, alphanumeric ends, '-_.' inside."""
    return len(value) <= LABEL_VALUE_MAX_LENGTH and _LABEL_VALUE_RE.fullmatch(value) is not None


def check_keys(field: str, values: Mapping[str, str] | None) -> None:
    for key, value in (values or {}).items():
        if not _is_qualified_name(key):
            raise InvalidInput(
                field, f"{key!r} is not a valid key: use [prefix/]name, name up to 63 characters"
            )
        if not isinstance(value, str):
            raise InvalidInput(field, f"the value of {key!r} must be a string")


def _is_qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        return False
    return len(name) <= 63 and _NAME_PART_RE.fullmatch(name) is not None
