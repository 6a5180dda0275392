"""Checks across jobs and files: unique presets, names, contexts (Prow's validateJobConfig)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import combinations

from prow_graphql.errors import ConfigError
from prow_graphql.prow.config import Preset
from prow_graphql.prow.jobs import Brancher, Periodic, Postsubmit, Presubmit

__all__ = ["check_periodics", "check_preset_labels", "check_repo_jobs"]


def check_preset_labels(presets: Sequence[Preset], errors: list[ConfigError]) -> None:
    first: dict[str, Preset] = {}
    for preset in presets:
        for key, value in preset.labels.items():
            pair = f"{key}:{value}"
            if pair in first:
                errors.append(
                    ConfigError(
                        f"presets: the label {pair!r} selects more than one preset (also in "
                        f"{first[pair].source_path or 'the same file'}); each label:value pair "
                        "may belong to one preset only: merge the presets or rename the label",
                        path=preset.source_path or None,
                    )
                )
            else:
                first[pair] = preset


def _overlap(a: Brancher, b: Brancher) -> bool:
    try:
        return a.intersects(b)
    except re.error:  # an invalid pattern is already reported; don't report it twice
        return False


def check_repo_jobs(
    kind: str,
    org_repo: str,
    jobs: Sequence[Presubmit] | Sequence[Postsubmit],
    errors: list[ConfigError],
) -> None:
    by_name: dict[str, list[Presubmit | Postsubmit]] = {}
    by_context: dict[str, list[Presubmit | Postsubmit]] = {}
    for job in jobs:
        by_name.setdefault(job.name, []).append(job)
        by_context.setdefault(job.context, []).append(job)
    for name, group in by_name.items():
        for a, b in combinations(group, 2):
            if _overlap(a.brancher, b.brancher):
                errors.append(
                    ConfigError(
                        f"{kind} {name!r} of {org_repo} is defined more than once for "
                        f"overlapping branches ({b.brancher.describe()} here; "
                        f"{a.brancher.describe()} in {a.source_path}); rename one of them or "
                        "make their `branches` disjoint",
                        path=b.source_path,
                        job=name,
                    )
                )
    for context, group in by_context.items():
        for a, b in combinations(group, 2):
            if a.name != b.name and _overlap(a.brancher, b.brancher):
                errors.append(
                    ConfigError(
                        f"{kind}s {a.name!r} ({a.source_path}) and {b.name!r} of {org_repo} "
                        f"report to the same GitHub context {context!r} on overlapping "
                        "branches; give one of them a different `context:`",
                        path=b.source_path,
                        job=b.name,
                    )
                )


def check_periodics(periodics: Sequence[Periodic], errors: list[ConfigError]) -> None:
    first: dict[str, Periodic] = {}
    for periodic in periodics:
        if periodic.name in first:
            errors.append(
                ConfigError(
                    f"periodic {periodic.name!r} is defined more than once (also in "
                    f"{first[periodic.name].source_path}); periodic names must be unique: "
                    "rename one",
                    path=periodic.source_path,
                    job=periodic.name,
                )
            )
        else:
            first[periodic.name] = periodic
