"""The `Gateway`: everything one server instance owns (config, store, informer, service, limits)
and its start/stop. No HTTP here: the view and the app factory sit on top of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from prow_graphql.admission import ConnectionLimiter
from prow_graphql.config_state import ConfigState
from prow_graphql.identity import Authenticator, authenticator_for
from prow_graphql.informer import Informer
from prow_graphql.metrics import Metrics
from prow_graphql.prow import links
from prow_graphql.schema.result_cache import ResultStore
from prow_graphql.schema.sharing import SharedStreams
from prow_graphql.schema.views import JobViewCache
from prow_graphql.service import GatewayService, Policy
from prow_graphql.settings import AuthMode, Backend, Settings
from prow_graphql.store.base import ProwJobObject, ProwJobStore
from prow_graphql.store.pod_logs import MemoryPodLogs, PodLogSource
from prow_graphql.store.sim_log import SimulatedTestLog


class Gateway:
    """Everything one server instance owns; `service` exists while the lifespan runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = ConfigState(
            settings.config_path,
            settings.job_config_path,
            settings.supplemental_prow_config_dirs,
            settings.supplemental_prow_configs_suffix,
        )
        self.authenticator: Authenticator = authenticator_for(
            settings.auth,
            token_file=settings.token_file,
            trusted_proxies=settings.trusted_proxies,
        )
        self.metrics = Metrics()
        self.config.on_outcome(lambda ok: self.metrics.observe_config_reload(ok))
        self.view_cache = JobViewCache()
        self.result_store = ResultStore(settings.protections.cache_bytes)
        self.shared_streams = SharedStreams(settings.subscriber_queue_limit)
        self.connections = ConnectionLimiter(settings.protections.max_connections_per_identity)
        self.subscriptions = ConnectionLimiter(
            settings.protections.max_subscriptions_per_identity,
            what="open subscriptions",
            flag="--max-subscriptions-per-identity",
        )
        self.store: ProwJobStore | None = None
        self.informer: Informer | None = None
        self.pod_logs: PodLogSource | None = None
        self._service: GatewayService | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def service(self) -> GatewayService:
        """The service; only valid while the app is running."""
        if self._service is None:
            raise RuntimeError("the gateway is not running (lifespan not started)")
        return self._service

    @property
    def namespace(self) -> str:
        """--namespace, else Prow's prowjob_namespace."""
        return self.settings.namespace or self.config.index.config.prowjob_namespace

    async def start(self) -> None:
        """Connect the store, start the informer (and the simulator on the memory backend)."""
        s = self.settings
        self.store = await self._open_store()
        self.pod_logs = self._open_pod_logs()
        self.informer = Informer(
            self.store,
            watch_timeout_seconds=s.watch_timeout_seconds,
            inactivity_timeout=s.watch_inactivity_timeout,
            subscriber_queue_limit=s.subscriber_queue_limit,
            stale_after=s.stale_after,
        )
        self._service = GatewayService(
            config=self.config,
            store=self.store,
            informer=self.informer,
            deck_url=s.deck_url,
            policy=Policy(
                authorize=s.auth is not AuthMode.NONE,
                dry_run=s.dry_run,
                enable_abort=s.enable_abort,
                env_allowlist=s.env_allowlist,
                idempotency_window=timedelta(hours=s.idempotency_window_hours),
                require_shas=s.require_shas,
            ),
            metrics=self.metrics,
            follow_wait=s.follow_wait,
            pod_logs=self.pod_logs,
        )
        informer = self.informer
        self.metrics.bind(
            cache_size=lambda: float(len(informer)),
            watch_restarts=lambda: float(informer.stats.watch_restarts),
            watch_relists=lambda: float(informer.stats.relists),
            watch_errors=lambda: float(informer.stats.errors),
        )
        self.informer.start()
        if s.backend is Backend.MEMORY:
            from prow_graphql.store.simulator import PlankSimulator

            simulator = PlankSimulator(
                self.store,
                pending_after=s.sim_pending_after,
                complete_after=s.sim_complete_after,
                failure_rate=s.sim_failure_rate,
                url_for=self._job_url,
                # the simulated pods write their test logs where prowJobLog reads them
                log=SimulatedTestLog(self.pod_logs, self.config.index.config.pod_namespace)
                if isinstance(self.pod_logs, MemoryPodLogs)
                else None,
            )
            self._tasks.append(asyncio.create_task(simulator.run(), name="plank-simulator"))
        if s.config_reload_interval > 0:
            self._tasks.append(
                asyncio.create_task(
                    self.config.watch(s.config_reload_interval), name="config-reload"
                )
            )

    async def stop(self) -> None:
        """Cancel background tasks and close the store."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.informer is not None:
            await self.informer.stop()
        if self.store is not None:
            await self.store.aclose()
        if self.pod_logs is not None:
            await self.pod_logs.aclose()

    def _open_pod_logs(self) -> PodLogSource | None:
        # Embedded: the simulated plank writes the logs; kube: only with a build-cluster config.
        if self.settings.backend is Backend.MEMORY:
            return MemoryPodLogs()
        from prow_graphql.store.kube_logs import KubePodLogs

        path = self.settings.build_cluster_kubeconfig
        return KubePodLogs(path) if path else None

    def _job_url(self, obj: ProwJobObject, build_id: str) -> str:
        return links.job_url(obj, build_id, self.config.index.config.plank)

    async def _open_store(self) -> ProwJobStore:
        if self.settings.backend is Backend.MEMORY:
            from prow_graphql.store.memory import MemoryStore

            return MemoryStore(self.namespace)
        from prow_graphql.store.kube import connect

        return await connect(self.settings.kubeconfig, self.settings.context, self.namespace)

    @property
    def healthy(self) -> bool:
        """False when a background task that should run forever has died."""
        if self.informer is not None and not self.informer.healthy:
            return False
        return all(not t.done() for t in self._tasks)

    @property
    def ready(self) -> bool:
        """Config loaded (always, once constructed), the informer has completed a list, and its
        list/watch has not kept failing for longer than --stale-after."""
        if self.informer is None:
            return False
        status = self.informer.status()
        return status.synced and not status.stale
