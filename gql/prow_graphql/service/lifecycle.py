"""Deck's abort and rerun."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from prow_graphql.errors import Conflict, InvalidInput, PermissionDenied
from prow_graphql.identity import Identity
from prow_graphql.prow.jobs import Job
from prow_graphql.prow.objects import (
    ANNOTATION_IDEMPOTENCY_KEY,
    ANNOTATION_TRIGGERED_BY,
    ProwJobRecord,
    ProwJobState,
    ProwJobType,
    Refs,
    parse_refs,
)
from prow_graphql.prow.prowjob import build_prowjob, new_prowjob, new_refs, set_container_env
from prow_graphql.service.core import ServiceCore, author_of
from prow_graphql.service.models import NotAbortable, RerunMode, TriggerOutcome
from prow_graphql.store.base import ProwJobObject

_ABORTABLE = frozenset({ProwJobState.TRIGGERED, ProwJobState.PENDING, ProwJobState.SCHEDULING})


class Lifecycle(ServiceCore):
    """Abort and rerun of existing ProwJobs."""

    async def abort(self, name: str, identity: Identity) -> ProwJobRecord:
        """Deck's abort: only triggered or pending jobs; merge-patch state aborted + description."""
        if not self.policy.enable_abort:
            raise PermissionDenied(
                "aborting is disabled on this server; start it with --enable-abort "
                "(and give its Role the patch verb)"
            )
        for _ in range(3):
            obj = await self._get_object(name)
            record = ProwJobRecord.from_object(obj)
            spec = obj.get("spec") or {}
            self._authorize(spec.get("rerun_auth_config"), _record_org_repo(record),
                            record.cluster, identity, record.job, "abort")  # fmt: skip
            if record.state not in _ABORTABLE:
                raise NotAbortable(
                    f"ProwJob {name} is {record.state.value}; only triggered or pending jobs "
                    "can be aborted"
                )
            patch = {
                # The precondition makes a job that finished meanwhile fail with Conflict.
                "metadata": {"resourceVersion": record.resource_version},
                "status": {
                    "state": ProwJobState.ABORTED.value,
                    "description": f"{identity.display} successfully aborted {name}.",
                },
            }
            try:
                return ProwJobRecord.from_object(await self.store.patch(name, patch))
            except Conflict:
                continue
        raise NotAbortable(f"ProwJob {name} kept changing; try again")

    async def set_state(
        self, name: str, current: ProwJobState, desired: ProwJobState, identity: Identity
    ) -> ProwJobRecord | None:
        """Gangway's bulk status change for one job: `current` → `desired`, or None if the job
        is no longer in `current`. Gated and authorized like abort (it is a mass abort)."""
        if not self.policy.enable_abort:
            raise PermissionDenied(
                "changing job states is disabled on this server; start it with --enable-abort"
            )
        obj = await self._get_object(name)
        record = ProwJobRecord.from_object(obj)
        spec = obj.get("spec") or {}
        self._authorize(spec.get("rerun_auth_config"), _record_org_repo(record),
                        record.cluster, identity, record.job, "abort")  # fmt: skip
        if record.state is not current:
            return None
        patch = {
            "metadata": {"resourceVersion": record.resource_version},
            "status": {
                "state": desired.value,
                "description": f"{identity.display} changed the state to {desired.value}.",
            },
        }
        try:
            return ProwJobRecord.from_object(await self.store.patch(name, patch))
        except Conflict:
            return None  # it changed meanwhile: no longer `current`, as gangway would skip it

    async def rerun(self, name: str, mode: RerunMode, identity: Identity) -> TriggerOutcome:
        """Deck's rerun: a new ProwJob from the old spec (ORIGINAL) or from current config."""
        obj = await self._get_object(name)
        record = ProwJobRecord.from_object(obj)
        old_spec: Mapping[str, Any] = obj.get("spec") or {}
        self._authorize(old_spec.get("rerun_auth_config"), _record_org_repo(record),
                        record.cluster, identity, record.job, "rerun")  # fmt: skip
        meta = obj.get("metadata") or {}
        annotations = dict(meta.get("annotations") or {})
        annotations.pop(ANNOTATION_IDEMPOTENCY_KEY, None)
        author = author_of(identity, "")
        if author:
            annotations[ANNOTATION_TRIGGERED_BY] = author
        index = self.config.index
        if mode is RerunMode.ORIGINAL:
            spec = dict(old_spec)
            labels = dict(meta.get("labels") or {})
        else:
            job = self._current_job(record)
            raw_refs = old_spec.get("refs")
            refs = parse_refs(raw_refs) if isinstance(raw_refs, Mapping) else None
            rebuilt = build_prowjob(
                job,
                run_as=record.type,
                refs=_refs_for_rebuild(refs, index.config.github_link_url),
                scheduler_enabled=index.config.scheduler_enabled,
                now=self._clock(),
            )
            spec = rebuilt["spec"]
            labels = dict(rebuilt["metadata"].get("labels") or {})
        if author and isinstance(spec.get("pod_spec"), Mapping):
            spec["pod_spec"] = json.loads(json.dumps(spec["pod_spec"]))
            set_container_env(spec["pod_spec"], {"AUTHOR": author})
        scheduler = index.config.scheduler_enabled

        def build() -> ProwJobObject:
            return new_prowjob(spec, labels, annotations, scheduler_enabled=scheduler,
                               now=self._clock())  # fmt: skip

        return self._outcome(await self._create(build))

    def _current_job(self, record: ProwJobRecord) -> Job:
        index = self.config.index
        if record.type is ProwJobType.PERIODIC:
            periodic = index.periodic(record.job)
            if periodic is None:
                raise InvalidInput("mode", f"periodic {record.job} is no longer configured; "
                                   "rerun with mode ORIGINAL")  # fmt: skip
            return periodic
        refs = record.refs
        if refs is None:
            raise InvalidInput("mode", "the ProwJob has no refs; rerun with mode ORIGINAL")
        return index.find(record.type, f"{refs.org}/{refs.repo}", record.job, refs.base_ref)


def _record_org_repo(record: ProwJobRecord) -> str:
    refs = record.primary_refs
    return f"{refs.org}/{refs.repo}" if refs is not None else ""


def _refs_for_rebuild(refs: Refs | None, link_url: str) -> Refs | None:
    """The old run's refs with links recomputed, for a rerun from the current config."""
    if refs is None:
        return None
    return new_refs(
        link_url,
        refs.org,
        refs.repo,
        refs.base_ref,
        base_sha=refs.base_sha,
        pull=refs.pulls[0] if refs.pulls else None,
    )
