"""`/manual-trigger`'s request: the old service's fields from a JSON body and/or URL query
parameters, validated with the old messages, as a `ManualTrigger` (kept apart from rest.py, the
endpoint, so that each stays small)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from prow_graphql import errors
from prow_graphql.prow.objects import ProwJobType
from prow_graphql.service import PullRequestInput, TriggerRequest

REQUIRED_FIELDS = ("org", "repo", "base_ref", "prowtype", "prowjob")
OPTIONAL_FIELDS = ("pullrequest", "user")
PULL_REQUEST_MESSAGE = (
    "Pull request number is required for presubmit jobs. Please provide 'pullrequest' parameter."
)
MAX_FIELD_LENGTH = 253
MAX_PULL_REQUEST = 2**31 - 1
# What to tell a caller whose body is unusable.
_SEND = "send a JSON object with org, repo, base_ref, prowtype, prowjob (or URL query parameters)"
_DIGITS = re.compile(r"[0-9]{1,10}")
_PROWTYPES = {"presubmit": ProwJobType.PRESUBMIT, "postsubmit": ProwJobType.POSTSUBMIT}


@dataclass(frozen=True, slots=True)
class ManualTrigger:
    """A validated /manual-trigger request, in the old service's terms."""

    org: str
    repo: str
    base_ref: str
    prowtype: ProwJobType
    prowjob: str
    pullrequest: int | None = None
    user: str = ""
    base_sha: str = ""
    pull_sha: str = ""

    def to_request(self, *, dry_run: bool) -> TriggerRequest:
        """The service request; the pull request is passed only when running as a presubmit."""
        pull = None
        if self.prowtype is ProwJobType.PRESUBMIT and self.pullrequest is not None:
            pull = PullRequestInput(number=self.pullrequest, sha=self.pull_sha)
        return TriggerRequest(
            org=self.org,
            repo=self.repo,
            job=self.prowjob,
            type=self.prowtype,
            base_ref=self.base_ref,
            base_sha=self.base_sha,
            pull_request=pull,
            author=self.user,
            dry_run=dry_run,
        )


class MissingFields(errors.InvalidInput):
    """One or more required fields are absent or empty; `missing` lists them in contract order."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(missing[0], "is required")
        self.missing = missing


def parse_fields(fields: Mapping[str, object]) -> ManualTrigger:
    """Validate the old contract's fields; raises `InvalidInput` (or `PullRequestRequired`)
    naming the field in the old vocabulary."""
    optional = ("user", "base_sha", "pull_sha")
    values = {name: _text(name, fields.get(name)) for name in (*REQUIRED_FIELDS, *optional)}
    missing = [name for name in REQUIRED_FIELDS if not values[name]]
    if missing:
        raise MissingFields(missing)
    prowtype = _PROWTYPES.get(values["prowtype"].lower())
    if prowtype is None:
        raise errors.InvalidInput(
            "prowtype", f"must be presubmit or postsubmit, not {values['prowtype']!r}"
        )
    pullrequest = _pull_request(fields.get("pullrequest"))
    if prowtype is ProwJobType.PRESUBMIT and pullrequest is None:
        raise errors.PullRequestRequired(PULL_REQUEST_MESSAGE)
    return ManualTrigger(
        org=values["org"],
        repo=values["repo"],
        base_ref=values["base_ref"],
        prowtype=prowtype,
        prowjob=values["prowjob"],
        pullrequest=pullrequest,
        user=values["user"],
        base_sha=values["base_sha"],
        pull_sha=values["pull_sha"],
    )


def _text(name: str, value: object) -> str:
    """A string field, stripped; "" when absent or null."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.InvalidInput(name, f"must be a string, not {_json_type(value)}")
    value = value.strip()
    if len(value) > MAX_FIELD_LENGTH:
        raise errors.InvalidInput(name, f"must be at most {MAX_FIELD_LENGTH} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a "\ud800" JSON escape
        raise errors.InvalidInput(name, "must be valid Unicode text") from exc
    if not value.isprintable():
        raise errors.InvalidInput(name, "must not contain control or separator characters")
    return value


def _pull_request(value: object) -> int | None:
    """The PR number: an integer or a string of digits; absent, null, "" and 0 mean none."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if _DIGITS.fullmatch(value) is None:
            shown = repr(value) if len(value) <= 40 and value.isprintable() else "other text"
            raise errors.InvalidInput(
                "pullrequest", f"must be a pull request number (an integer), not {shown}"
            )
        value = int(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidInput(
            "pullrequest", f"must be a pull request number (an integer), not {_json_type(value)}"
        )
    if value == 0:
        return None
    if not 0 < value <= MAX_PULL_REQUEST:
        raise errors.InvalidInput("pullrequest", f"must be between 1 and {MAX_PULL_REQUEST}")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else type(value).__name__


def merge_inputs(query: list[tuple[str, str]], body: bytes) -> dict[str, object]:
    """Query parameters overlaid by the JSON body's fields; raises InvalidInput for a body that
    is not a JSON object or a field given twice in the query string."""
    known = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
    fields: dict[str, object] = {}
    for key, value in query:
        if key in known:
            if key in fields:
                raise errors.InvalidInput(key, "is given more than once in the query string")
            fields[key] = value
    if body.strip():
        try:
            parsed = json.loads(body)
        except RecursionError as exc:
            raise errors.InvalidInput("body", f"is nested too deeply; {_SEND}") from exc
        except json.JSONDecodeError as exc:
            raise errors.InvalidInput(
                "body", f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                f"{_SEND}"
            ) from exc  # fmt: skip
        except ValueError as exc:  # not UTF-8/16/32, or an integer too long to convert
            raise errors.InvalidInput("body", f"is not valid JSON text; {_SEND}") from exc
        if not isinstance(parsed, dict):
            raise errors.InvalidInput("body", f"must be a JSON object, not {_json_type(parsed)}")
        # A null field counts as absent, so it does not hide a query parameter.
        fields.update((key, value) for key, value in parsed.items() if value is not None)
    return fields
