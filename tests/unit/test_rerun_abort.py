"""Rerun and abort as Deck does them (§8.7), on the embedded store with literal configs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.config_state import ConfigState
from prow_graphql.errors import PermissionDenied
from prow_graphql.identity import Identity
from prow_graphql.informer import Informer
from prow_graphql.prow.objects import ProwJobType
from prow_graphql.service import (
    GatewayService,
    NotAbortable,
    Policy,
    RerunMode,
    TriggerRequest,
)
from prow_graphql.store.memory import MemoryStore

SPEC = "spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}"
ALICE = Identity(user="alice", groups=("github-org:org",), authenticated=True)
BOB = Identity(user="bob", authenticated=True)


def _service(tmp_path: Path, job_fields: str, *, authorize: bool = True) -> GatewayService:
    (tmp_path / "config.yaml").write_text("{}\n")
    jobs = tmp_path / "jobs"
    jobs.mkdir(exist_ok=True)
    (jobs / "j.yaml").write_text(
        f"postsubmits:\n  org/repo:\n  - {{name: post, {job_fields}, {SPEC}}}\n"
    )
    store = MemoryStore("default")
    return GatewayService(
        config=ConfigState(tmp_path / "config.yaml", jobs),
        store=store,
        informer=Informer(store),
        policy=Policy(authorize=authorize, enable_abort=True),
    )


def _change_job(service: GatewayService, tmp_path: Path, job_fields: str) -> None:
    path = tmp_path / "jobs" / "j.yaml"
    path.write_text(f"postsubmits:\n  org/repo:\n  - {{name: post, {job_fields}, {SPEC}}}\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert service.config.reload() is True


async def _trigger(service: GatewayService, identity: Identity) -> dict[str, Any]:
    request = TriggerRequest(
        org="org", repo="repo", job="post", type=ProwJobType.POSTSUBMIT, base_ref="main"
    )
    outcome = await service.trigger(request, identity, hidden_repos=None)
    return outcome.prowjob


async def test_latest_rerun_authorizes_on_the_new_prowjob(tmp_path: Path) -> None:
    """The old run allowed only bob; the current config allows org members: alice may rerun in
    LATEST mode (Deck checks the new ProwJob) but not in ORIGINAL mode."""
    service = _service(tmp_path, "rerun_auth_config: {github_users: ['@Bob']}")
    old = await _trigger(service, BOB)  # '@Bob' matches bob: NormLogin strips '@', ignores case
    _change_job(service, tmp_path, "rerun_auth_config: {github_orgs: [org]}")
    with pytest.raises(PermissionDenied):
        await service.rerun(old["metadata"]["name"], RerunMode.ORIGINAL, ALICE, hidden_repos=None)
    outcome = await service.rerun(
        old["metadata"]["name"], RerunMode.LATEST, ALICE, hidden_repos=None
    )
    assert outcome.prowjob["spec"]["rerun_auth_config"] == {"github_orgs": ["org"]}
    with pytest.raises(PermissionDenied):
        await service.rerun(old["metadata"]["name"], RerunMode.LATEST, BOB, hidden_repos=None)


async def test_latest_rerun_takes_labels_and_annotations_from_current_config(
    tmp_path: Path,
) -> None:
    service = _service(tmp_path, "labels: {old: 'yes'}, annotations: {note: old}", authorize=False)
    old = await _trigger(service, BOB)
    name = old["metadata"]["name"]
    # what trigger, tide and gerrit put on a run (the component keys) survives; the rest not
    await service.store.patch(
        name,
        {
            "metadata": {
                "labels": {"event-GUID": "guid-1", "created-by-tide": "true", "stale": "x"},
                "annotations": {"prow.k8s.io/gerrit-id": "g-1", "stale-note": "x"},
            }
        },
    )
    _change_job(service, tmp_path, "labels: {new: 'yes'}, annotations: {note: new}")
    outcome = await service.rerun(name, RerunMode.LATEST, ALICE, hidden_repos=None)
    meta = outcome.prowjob["metadata"]
    assert {k: v for k, v in meta["labels"].items() if not k.startswith("prow.k8s.io/")} == {
        "created-by-prow": "true",
        "new": "yes",
        "event-GUID": "guid-1",
        "created-by-tide": "true",
    }
    assert meta["annotations"] == {
        "prow.k8s.io/job": "post",
        "prow.k8s.io/context": "post",
        "note": "new",
        "prow.k8s.io/gerrit-id": "g-1",
        "prow-graphql.prow.k8s.io/triggered-by": "alice",
    }
    assert outcome.prowjob["status"]["description"] == f"alice successfully reran {name}."


async def test_original_rerun_copies_labels_and_annotations(tmp_path: Path) -> None:
    service = _service(tmp_path, "labels: {old: 'yes'}", authorize=False)
    old = await _trigger(service, BOB)
    _change_job(service, tmp_path, "labels: {new: 'yes'}")
    outcome = await service.rerun(
        old["metadata"]["name"], RerunMode.ORIGINAL, Identity(), hidden_repos=None
    )
    assert outcome.prowjob["metadata"]["labels"]["old"] == "yes"
    assert "new" not in outcome.prowjob["metadata"]["labels"]
    expected = f"Successfully reran {old['metadata']['name']}."  # no login: Deck's wording
    assert outcome.prowjob["status"]["description"] == expected


@pytest.mark.parametrize(
    ("state", "abortable"),
    [("triggered", True), ("pending", True), ("scheduling", False), ("success", False)],
)
async def test_abort_only_from_triggered_or_pending(
    tmp_path: Path, state: str, abortable: bool
) -> None:
    service = _service(tmp_path, "max_concurrency: 0", authorize=False)
    old = await _trigger(service, BOB)
    name = old["metadata"]["name"]
    status: dict[str, Any] = {"state": state}
    if state == "success":
        status["completionTime"] = "2026-01-01T00:00:00Z"
    await service.store.patch(name, {"status": status})
    if abortable:
        record = await service.abort(name, ALICE, hidden_repos=None)
        assert record.state.value == "aborted"
    else:
        with pytest.raises(NotAbortable):
            await service.abort(name, ALICE, hidden_repos=None)
