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

from prow_graphql.prow.jobs import Periodic, Presubmit
from prow_graphql.prow.links import job_url
from prow_graphql.prow.loader import load_job_index
from prow_graphql.prow.objects import ProwJobType, Pull, format_time
from prow_graphql.prow.prowjob import build_prowjob, new_refs, refs_to_json

KUBEVIRT = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "prow" / "kubevirt"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
LINK_URL = "https://github.com"
_FINAL = (("success", "Job succeeded."), ("failure", "Job failed."))
_RARE = (("aborted", "Job aborted."), ("error", "Pod got deleted unexpectedly"))


def available() -> bool:
    """Whether the kubevirt fixture is beside the repository."""
    return (KUBEVIRT / "config.yaml").is_file()


def real_shaped(count: int, namespace: str, seed: int = 11) -> Iterator[dict[str, Any]]:
    """`count` ProwJobs (cycling through the config's jobs) with plank-like statuses.

    Each configured job is built once by the gateway's builder (`build_prowjob`); its runs are
    copies that differ where Prow's runs differ: name, pull number/author/SHAs (and the labels
    and links derived from them), start time and status.
    """
    index = load_job_index(KUBEVIRT / "config.yaml", KUBEVIRT / "jobs")
    plank = index.config.plank
    rng = random.Random(seed)
    bases: list[tuple[dict[str, Any], bool]] = []
    for org_repo in index.repos():
        org, repo = org_repo.split("/", 1)
        kinds = (
            (index.presubmits(org_repo), ProwJobType.PRESUBMIT),
            (index.postsubmits(org_repo), ProwJobType.POSTSUBMIT),
        )
        for jobs, kind in kinds:
            for job in jobs:
                pull = (
                    Pull(number=1, author="dev", sha="0" * 40)
                    if isinstance(job, Presubmit)
                    else None
                )
                refs = new_refs(LINK_URL, org, repo, "main", base_sha="0" * 40, pull=pull)
                obj = build_prowjob(job, run_as=kind, refs=refs, scheduler_enabled=False, now=EPOCH)
                bases.append((obj, pull is not None))
    for job in index.periodics:
        if isinstance(job, Periodic):
            obj = build_prowjob(
                job, run_as=ProwJobType.PERIODIC, refs=None, scheduler_enabled=False, now=EPOCH
            )
            bases.append((obj, False))
    for obj, _ in bases:
        _go_shaped(obj["spec"].get("pod_spec"))
    for i in range(count):
        base, has_pull = bases[i % len(bases)]
        yield _run_of(base, has_pull, namespace, rng, plank)


def _run_of(
    base: dict[str, Any], has_pull: bool, namespace: str, rng: random.Random, plank: Any
) -> dict[str, Any]:
    name = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    labels = dict(base["metadata"]["labels"])
    spec = dict(base["spec"])
    refs = spec.get("refs")
    if refs is not None:
        org, repo = refs["org"], refs["repo"]
        pull = None
        if has_pull:
            number = rng.randint(1, 15000)
            labels["prow.k8s.io/refs.pull"] = str(number)
            pull = Pull(number=number, author=f"dev{rng.randint(1, 400)}", sha=_sha(rng))
        built = new_refs(
            LINK_URL, org, repo, refs.get("base_ref", "main"), base_sha=_sha(rng), pull=pull
        )
        spec["refs"] = {**refs, **refs_to_json(built)}
    metadata = {**base["metadata"], "name": name, "namespace": namespace, "labels": labels}
    obj = {**base, "metadata": metadata, "spec": spec}
    start = EPOCH + timedelta(seconds=rng.randint(0, 7 * 24 * 3600))
    obj["status"] = _status(obj, rng, start, plank)
    return obj


def _go_shaped(pod_spec: Any) -> None:
    """What Go's encoder writes and the CRD requires (prow-reference §8.1): a `name` on every
    container, quantities and list items as strings. The builder does not yet (another issue's
    work); the bench needs ProwJobs a real API server accepts."""
    if not isinstance(pod_spec, dict):
        return
    for key in ("containers", "initContainers"):
        for container in pod_spec.get(key) or ():
            container.setdefault("name", "")
            for field in ("command", "args"):
                if isinstance(container.get(field), list):
                    container[field] = ["" if v is None else v for v in container[field]]
            for kind in ("requests", "limits"):
                values = (container.get("resources") or {}).get(kind) or {}
                for resource, quantity in values.items():
                    if not isinstance(quantity, str):
                        values[resource] = _quantity(quantity)


def _quantity(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{round(value * 1000)}m"
    return str(int(value))


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


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
