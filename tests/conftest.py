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
    from prow_graphql.store.simulator import PlankSimulator
    from tests.fakekube import FakeKubeServer

    index = ConfigLoader(str(EXAMPLE / "config.yaml"), str(EXAMPLE / "jobs")).load()
    namespace = index.config.prowjob_namespace
    async with FakeKubeServer() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        # The simulator plays plank: a separate API client, as a real controller would be.
        plank_store = await connect(str(kubeconfig), None, namespace)
        simulator = PlankSimulator(
            plank_store,
            pending_after=0.05,
            complete_after=0.1,
            url_for=lambda obj, build_id: job_url(obj, build_id, index.config.plank),
        )
        import asyncio

        sim_task = asyncio.create_task(simulator.run())
        try:
            settings = example_settings("--kubeconfig", str(kubeconfig), *extra, backend="kube")
            async with serve(settings) as gateway:
                gateway.api = api  # type: ignore[attr-defined]
                yield gateway
        finally:
            sim_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sim_task
            await plank_store.aclose()


@contextlib.asynccontextmanager
async def realkube_gateway(
    server: RealKube,
    tmp_path: Path,
    *extra: str,
    complete_after: float = 0.1,
    job_config: Path | None = None,
) -> AsyncIterator[RunningGateway]:
    """A gateway on the kube backend against the real API server, in a namespace of its own, with
    the simulated plank as a separate client (a real API server has no plank of its own).

    `job_config` replaces the example job directory (config.yaml stays the example's)."""
    from prow_graphql.prow.links import job_url
    from prow_graphql.prow.loader import ConfigLoader
    from prow_graphql.store.kube import connect
    from prow_graphql.store.simulator import PlankSimulator

    index = ConfigLoader(str(EXAMPLE / "config.yaml"), str(EXAMPLE / "jobs")).load()
    namespace = server.new_namespace("gw")
    kubeconfig = server.kubeconfig_for(namespace, tmp_path)
    plank_store = await connect(str(kubeconfig), None, namespace)
    simulator = PlankSimulator(
        plank_store,
        pending_after=0.05,
        complete_after=complete_after,
        url_for=lambda obj, build_id: job_url(obj, build_id, index.config.plank),
    )
    import asyncio

    sim_task = asyncio.create_task(simulator.run())
    jobs = ("--job-config-path", str(job_config)) if job_config is not None else ()
    try:
        settings = example_settings(
            "--kubeconfig", str(kubeconfig), "--namespace", namespace, *jobs, *extra,
            backend="kube",
        )  # fmt: skip
        async with serve(settings) as gateway:
            gateway.realkube = server  # type: ignore[attr-defined]
            gateway.namespace = namespace  # type: ignore[attr-defined]
            yield gateway
    finally:
        sim_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sim_task
        await plank_store.aclose()


@pytest.fixture(params=["memory", "kube", "realkube"])
async def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    """The example config served on each backend: embedded, fake API server, real API server."""
    if request.param == "memory":
        async with serve(example_settings()) as gw:
            yield gw
    elif request.param == "kube":
        async with kube_gateway(tmp_path) as gw:
            yield gw
    else:
        server: RealKube = request.getfixturevalue("realkube")
        async with realkube_gateway(server, tmp_path) as gw:
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
