"""Real-shaped ProwJobs for the cluster-scale bench: every job of the kubevirt Prow config (from
../shared/fixtures) built by the gateway's own builder, then given a status as plank writes it.

Deterministic for a seed: names are UUIDs from the seeded RNG; 85 % of the runs are finished
(success/failure/aborted/error), the rest pending or triggered, start times spread over a week.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prow_graphql.prow.jobs import Periodic, Postsubmit, Presubmit
from prow_graphql.prow.links import job_url
from prow_graphql.prow.loader import load_job_index
from prow_graphql.prow.objects import ProwJobType, Pull, format_time
from prow_graphql.prow.prowjob import build_prowjob, new_refs

KUBEVIRT = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "prow" / "kubevirt"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_FINAL = (("success", "Job succeeded."), ("failure", "Job failed."))
_RARE = (("aborted", "Job aborted."), ("error", "Pod got deleted unexpectedly"))


def available() -> bool:
    """Whether the kubevirt fixture is beside the repository."""
    return (KUBEVIRT / "config.yaml").is_file()


def real_shaped(count: int, namespace: str, seed: int = 11) -> Iterator[dict[str, Any]]:
    """`count` ProwJobs (cycling through the config's jobs) with plank-like statuses."""
    index = load_job_index(KUBEVIRT / "config.yaml", KUBEVIRT / "jobs")
    config = index.config
    link_url = "https://github.com"
    jobs: list[tuple[Any, ProwJobType, str | None]] = []
    for org_repo in index.repos():
        jobs += [(j, ProwJobType.PRESUBMIT, org_repo) for j in index.presubmits(org_repo)]
        jobs += [(j, ProwJobType.POSTSUBMIT, org_repo) for j in index.postsubmits(org_repo)]
    jobs += [(j, ProwJobType.PERIODIC, None) for j in index.periodics]
    rng = random.Random(seed)
    for i in range(count):
        job, kind, org_repo = jobs[i % len(jobs)]
        refs = None
        if org_repo is not None and isinstance(job, Presubmit | Postsubmit):
            org, repo = org_repo.split("/", 1)
            sha = f"{rng.getrandbits(160):040x}"
            pull = None
            if isinstance(job, Presubmit):
                pull = Pull(
                    number=rng.randint(1, 15000), author=f"dev{rng.randint(1, 400)}", sha=sha
                )
            refs = new_refs(
                link_url, org, repo, "main", base_sha=f"{rng.getrandbits(160):040x}", pull=pull
            )
        elif not isinstance(job, Periodic):
            continue
        start = EPOCH + timedelta(seconds=rng.randint(0, 7 * 24 * 3600))
        name = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        obj = build_prowjob(
            job, run_as=kind, refs=refs, scheduler_enabled=False, now=start, name=name
        )
        obj["metadata"]["namespace"] = namespace
        obj["status"] = _status(obj, rng, start, config.plank)
        yield obj


def _status(obj: dict[str, Any], rng: random.Random, start: datetime, plank: Any) -> dict[str, Any]:
    roll = rng.random()
    status: dict[str, Any] = {"startTime": format_time(start)}
    if roll < 0.05:
        return {**status, "state": "triggered", "description": "Job triggered."}
    build_id = str(1_700_000_000_000_000_000 + rng.getrandbits(50))
    status.update(
        pendingTime=format_time(start + timedelta(seconds=rng.randint(1, 60))),
        build_id=build_id,
        pod_name=obj["metadata"]["name"],
        url=job_url(obj, build_id, plank),
    )
    if roll < 0.15:
        return {**status, "state": "pending", "description": "Job triggered."}
    state, description = rng.choice(_FINAL) if roll < 0.97 else rng.choice(_RARE)
    end = start + timedelta(seconds=rng.randint(120, 3 * 3600))
    return {
        **status,
        "state": state,
        "description": description,
        "completionTime": format_time(end),
        "prev_report_states": {"github-reporter": state, "gcsreporter": state},
    }
