"""What every use case shares: config holder, store, informer, policy, links, authorization."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from prow_graphql.config_state import ConfigState
from prow_graphql.errors import Conflict, InvalidInput, ObjectNotFound, ProwJobNotFound
from prow_graphql.identity import Identity
from prow_graphql.informer import Informer
from prow_graphql.metrics import CreateResult, Metrics
from prow_graphql.prow import links
from prow_graphql.prow.authz import may_run
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.service.models import Policy, TriggerOutcome
from prow_graphql.store.base import ProwJobObject, ProwJobStore
from prow_graphql.store.pod_logs import PodLogSource


class ServiceCore:
    """State and helpers shared by triggering, lifecycle and reading."""

    def __init__(
        self,
        *,
        config: ConfigState,
        store: ProwJobStore,
        informer: Informer,
        deck_url: str | None = None,
        policy: Policy | None = None,
        metrics: Metrics | None = None,
        follow_wait: float = 30.0,
        pod_logs: PodLogSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.informer = informer
        self.policy = policy or Policy()
        self.metrics = metrics
        self._deck_url = deck_url
        self._follow_wait = follow_wait
        self._clock = clock
        self.pod_logs = pod_logs

    @property
    def deck_url(self) -> str | None:
        """--deck-url, else the origin of plank's "*" job URL prefix, else None."""
        return self._deck_url or links.deck_url_default(self.config.index.config.plank)

    # --- trigger -------------------------------------------------------------------------------

    async def _create(self, build: Callable[[], ProwJobObject]) -> ProwJobObject:
        """Create a freshly built ProwJob; a (vanishingly rare) UUID clash is retried once."""
        for attempt in range(2):
            try:
                created = await self.store.create(build())
            except Conflict:
                if attempt == 1:
                    self._count(CreateResult.FAILED)
                    raise
                continue
            except Exception:
                self._count(CreateResult.FAILED)
                raise
            self._count(CreateResult.CREATED)
            return created
        raise AssertionError("unreachable")

    def _outcome(
        self, obj: ProwJobObject, *, dry_run: bool = False, existing: bool = False
    ) -> TriggerOutcome:
        record = ProwJobRecord.from_object(obj)
        status_link, log_link = self.links(record)
        return TriggerOutcome(obj, record, dry_run, status_link, log_link, existing)

    def _count(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_prowjob(result)

    def _authorize(
        self,
        rerun_auth_config: Mapping[str, Any] | None,
        org_repo: str,
        cluster: str,
        identity: Identity,
        job_name: str,
        action: str,
    ) -> None:
        """Deck's per-job rules; skipped when the server runs without authentication."""
        if not self.policy.authorize:
            return
        deck = self.config.index.config.deck
        decision = may_run(
            rerun_auth_config, deck, org_repo, cluster, identity, job_name=job_name, action=action
        )
        decision.raise_if_denied()

    async def _get_object(self, name: str) -> ProwJobObject:
        if not name.strip():
            raise InvalidInput("name", "is required: the ProwJob's metadata.name")
        try:
            return await self.store.get(name)
        except ObjectNotFound as exc:
            raise self._missing(name) from exc

    def _missing(self, name: str) -> ProwJobNotFound:
        """What abort and rerun answer for an unknown name, and for a ProwJob hidden from the
        caller: one message, so the two cannot be told apart."""
        return ProwJobNotFound(f"no ProwJob named {name!r} in namespace {self.namespace!r}")

    @property
    def namespace(self) -> str:
        """Where ProwJobs are created."""
        return getattr(self.store, "namespace", None) or self.config.index.config.prowjob_namespace

    def links(self, record: ProwJobRecord) -> tuple[str | None, str | None]:
        """Deck's status link, and its log link once the job has a BuildID."""
        deck = self.deck_url
        if deck is None:
            return None, None
        status = links.status_link(deck, record.name)
        log = links.log_link(deck, record.job, record.build_id) if record.build_id else None
        return status, log

    # --- read ----------------------------------------------------------------------------------


def author_of(identity: Identity, requested: str) -> str:
    """With authentication the identity is the author; otherwise the request may name one."""
    return identity.user if identity.authenticated else requested
