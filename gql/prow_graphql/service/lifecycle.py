"""Deck's abort and rerun."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
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
)
from prow_graphql.prow.prowjob import build_spec, new_prowjob, set_container_env
from prow_graphql.prow.visibility import hidden_from, job_visible
from prow_graphql.service.core import ServiceCore, author_of
from prow_graphql.service.models import NotAbortable, RerunMode, TriggerOutcome
from prow_graphql.store.base import ProwJobObject

# Deck aborts only these (not scheduling: the scheduler has not placed the job yet).
_ABORTABLE = frozenset({ProwJobState.TRIGGERED, ProwJobState.PENDING})
# Deck's ComponentSpecifiedAnnotationsAndLabels: kept from the old run by a LATEST rerun.
COMPONENT_KEYS = frozenset(
    {
        "prow.k8s.io/gerrit-revision",
        "prow.k8s.io/gerrit-patchset",
        "prow.k8s.io/gerrit-report-label",
        "event-GUID",
        "created-by-tide",
        "prow.k8s.io/gerrit-id",
        "prow.k8s.io/gerrit-instance",
    }
)


class Lifecycle(ServiceCore):
    """Abort and rerun of existing ProwJobs."""

    async def abort(
        self, name: str, identity: Identity, *, hidden_repos: Collection[str] | None
    ) -> ProwJobRecord:
        """Deck's abort: only triggered or pending jobs; merge-patch state aborted + description.
        A ProwJob hidden from the caller (`hidden_repos`, None: none) is ProwJobNotFound."""
        if not self.policy.enable_abort:
            raise PermissionDenied(
                "aborting is disabled on this server; start it with --enable-abort "
                "(and give its Role the patch verb)"
            )
        for _ in range(3):
            obj = await self._get_object(name)
            record = ProwJobRecord.from_object(obj)
            if hidden_from(hidden_repos, record):
                raise self._missing(name)  # exactly as for a name that does not exist
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
                    "description": _done(identity, "aborted", name),
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

    async def rerun(
        self,
        name: str,
        mode: RerunMode,
        identity: Identity,
        *,
        hidden_repos: Collection[str] | None,
    ) -> TriggerOutcome:
        """Deck's rerun: a new ProwJob from the old spec (ORIGINAL) or from current config
        (LATEST); authorization is decided on the new ProwJob, as Deck does.

        A ProwJob hidden from the caller (`hidden_repos`, None: none) is ProwJobNotFound, and
        LATEST finds only jobs the caller may see, so a run cannot reach a now-hidden job."""
        obj = await self._get_object(name)
        record = ProwJobRecord.from_object(obj)
        if hidden_from(hidden_repos, record):
            raise self._missing(name)  # exactly as for a name that does not exist
        old_spec: Mapping[str, Any] = obj.get("spec") or {}
        meta = obj.get("metadata") or {}
        old_labels: Mapping[str, str] = meta.get("labels") or {}
        old_annotations: Mapping[str, str] = meta.get("annotations") or {}
        author = author_of(identity, "")
        index = self.config.index
        if mode is RerunMode.ORIGINAL:
            spec = dict(old_spec)
            labels = dict(old_labels)
            annotations = dict(old_annotations)
        else:
            job = self._current_job(record, hidden_repos)
            # Deck reuses the old run's refs as stored (no validation, no new links); a
            # periodic is built from the current periodic alone (PeriodicSpec takes no refs).
            raw_refs = old_spec.get("refs")
            periodic = record.type is ProwJobType.PERIODIC
            stored = raw_refs if isinstance(raw_refs, Mapping) and not periodic else None
            spec = build_spec(job, record.type, None, stored_refs=stored)
            # Deck: the job's labels and annotations from the current config, plus the keys
            # components (trigger, tide, gerrit) set on the old run.
            labels = {**job.labels, **_component_keys(old_labels)}
            annotations = {**job.annotations, **_component_keys(old_annotations)}
        annotations.pop(ANNOTATION_IDEMPOTENCY_KEY, None)
        if author:
            annotations[ANNOTATION_TRIGGERED_BY] = author
        self._authorize(spec.get("rerun_auth_config"), _spec_org_repo(spec),
                        str(spec.get("cluster") or ""), identity, record.job, "rerun")  # fmt: skip
        if author and isinstance(spec.get("pod_spec"), Mapping):
            spec["pod_spec"] = json.loads(json.dumps(spec["pod_spec"]))
            set_container_env(spec["pod_spec"], {"AUTHOR": author})
        scheduler = index.config.scheduler_enabled
        description = _done(identity, "reran", name)

        def build() -> ProwJobObject:
            new = new_prowjob(spec, labels, annotations, scheduler_enabled=scheduler,
                              now=self._clock())  # fmt: skip
            new["status"]["description"] = description
            return new

        return self._outcome(await self._create(build))

    def _current_job(self, record: ProwJobRecord, hidden_repos: Collection[str] | None) -> Job:
        index = self.config.index
        if record.type is ProwJobType.PERIODIC:
            periodic = index.periodic(record.job)
            if periodic is None or not job_visible(periodic.hidden, None, hidden_repos):
                raise InvalidInput("mode", f"periodic {record.job} is no longer configured; "
                                   "rerun with mode ORIGINAL")  # fmt: skip
            return periodic
        refs = record.refs
        # Deck's verifyRerunRefs: the job is looked up by org/repo and filtered by branch.
        if refs is None or not (refs.org and refs.repo and refs.base_ref):
            raise InvalidInput("mode", "the ProwJob's refs lack org, repo or base_ref; "
                               "rerun with mode ORIGINAL")  # fmt: skip
        org_repo = f"{refs.org}/{refs.repo}"
        return index.find(record.type, org_repo, record.job, refs.base_ref, hidden_repos)


def _done(identity: Identity, verb: str, name: str) -> str:
    """Deck's status description: "<login> successfully reran <name>." (no login: capitalised)."""
    user = identity.user if identity.authenticated else ""
    return f"{user} successfully {verb} {name}." if user else f"Successfully {verb} {name}."


def _component_keys(values: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if k in COMPONENT_KEYS}


def _spec_org_repo(spec: Mapping[str, Any]) -> str:
    """Deck's GetRerunAuthConfig key: refs' org/repo, else the first extra ref's, else ""."""
    refs = spec.get("refs")
    if not isinstance(refs, Mapping):
        extra = spec.get("extra_refs") or ()
        refs = extra[0] if extra and isinstance(extra[0], Mapping) else None
    if refs is None:
        return ""
    return f"{refs.get('org') or ''}/{refs.get('repo') or ''}"


def _record_org_repo(record: ProwJobRecord) -> str:
    refs = record.primary_refs
    return f"{refs.org}/{refs.repo}" if refs is not None else ""
