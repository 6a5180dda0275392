"""Shared fixtures: a gateway on the embedded backend or on a fake Kubernetes API server."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.harness import EXAMPLE, RunningGateway, example_settings, serve
from tests.realkube import RealKube


@contextlib.asynccontextmanager
async def kube_gateway(tmp_path: Path, *extra: str) -> AsyncIterator[RunningGateway]:
    """A gateway on the kube backend, against a fake API server with a simulated plank."""
    from prow_graphql.prow.links import job_url
    from prow_graphql.prow.loader import ConfigLoader
    from prow_graphql.store.kube import connect
    from prow_graphql.store.sim_log import SimulatedTestLog
    from prow_graphql.store.simulator import PlankSimulator
    from tests.fakekube import FakeKubeServer

    index = ConfigLoader(str(EXAMPLE / "config.yaml"), str(EXAMPLE / "jobs")).load()
    namespace = index.config.prowjob_namespace
    async with FakeKubeServer() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        # The build cluster is the same fake server, under Prow's default cluster alias.
        build_clusters = api.write_kubeconfig(tmp_path / "build-clusters", context="default")
        # The simulator plays plank: a separate API client, as a real controller would be.
        plank_store = await connect(str(kubeconfig), None, namespace)
        simulator = PlankSimulator(
            plank_store,
            pending_after=0.05,
            complete_after=0.1,
            url_for=lambda obj, build_id: job_url(obj, build_id, index.config.plank),
            log=SimulatedTestLog(api.pod_logs, index.config.pod_namespace),
        )
        import asyncio

        sim_task = asyncio.create_task(simulator.run())
        try:
            settings = example_settings(
                "--kubeconfig",
                str(kubeconfig),
                "--build-cluster-kubeconfig",
                str(build_clusters),
                *extra,
                backend="kube",
            )
            async with serve(settings) as gateway:
                gateway.api = api  # type: ignore[attr-defined]
                yield gateway
        finally:
            sim_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sim_task
            await plank_store.aclose()


@pytest.fixture(params=["memory", "kube"])
async def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    """The example config served on each backend."""
    if request.param == "memory":
        async with serve(example_settings()) as gw:
            yield gw
    else:
        async with kube_gateway(tmp_path) as gw:
            yield gw


@pytest.fixture(scope="session")
def realkube() -> Iterator[RealKube]:
    """One real kube-apiserver (with Prow's CRD) for the whole session; skips where absent."""
    from tests import realkube as rk

    reason = rk.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    server = rk.start()
    try:
        yield server
    finally:
        server.stop()
        if not rk.keep_dir():
            shutil.rmtree(server.directory, ignore_errors=True)
