"""Shared fixtures: a gateway on the embedded backend or on a fake Kubernetes API server."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from prow_graphql.store.sim_log import SimulatedTestLog
from tests.harness import EXAMPLE, RunningGateway, example_settings, serve
from tests.realkube import RealKube


@contextlib.asynccontextmanager
async def _gateway_with_plank(
    kubeconfig: Path,
    namespace: str,
    *args: str,
    complete_after: float = 0.1,
    log: SimulatedTestLog | None = None,
) -> AsyncIterator[RunningGateway]:
    """A kube-backend gateway on `kubeconfig`, with the simulator playing plank through a
    separate API client, as a real controller would."""
    import asyncio

    from prow_graphql.prow.links import job_url
    from prow_graphql.prow.loader import ConfigLoader
    from prow_graphql.store.kube import connect
    from prow_graphql.store.simulator import PlankSimulator

    plank = ConfigLoader(str(EXAMPLE / "config.yaml"), str(EXAMPLE / "jobs")).load().config.plank
    plank_store = await connect(str(kubeconfig), None, namespace)
    simulator = PlankSimulator(
        plank_store,
        pending_after=0.05,
        complete_after=complete_after,
        url_for=lambda obj, build_id: job_url(obj, build_id, plank),
        log=log,
    )
    sim_task = asyncio.create_task(simulator.run())
    try:
        settings = example_settings("--kubeconfig", str(kubeconfig), *args, backend="kube")
        async with serve(settings) as gateway:
            yield gateway
    finally:
        sim_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sim_task
        await plank_store.aclose()
        # aiohttp closes TLS connections asynchronously: give the loop a moment to finish them
        # before the test's loop closes, or their sockets are reported unclosed (aiohttp's
        # documented graceful-shutdown advice).
        await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def kube_gateway(tmp_path: Path, *extra: str) -> AsyncIterator[RunningGateway]:
    """A gateway on the kube backend, against a fake API server with a simulated plank."""
    from prow_graphql.prow.loader import ConfigLoader
    from tests.fakekube import FakeKubeServer

    index = ConfigLoader(str(EXAMPLE / "config.yaml"), str(EXAMPLE / "jobs")).load()
    namespace = index.config.prowjob_namespace
    async with FakeKubeServer() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        # The build cluster is the same fake server, under Prow's default cluster alias.
        build_clusters = api.write_kubeconfig(tmp_path / "build-clusters", context="default")
        log = SimulatedTestLog(api.pod_logs, index.config.pod_namespace)
        args = ("--build-cluster-kubeconfig", str(build_clusters), *extra)
        async with _gateway_with_plank(kubeconfig, namespace, *args, log=log) as gateway:
            gateway.api = api  # type: ignore[attr-defined]
            yield gateway


@contextlib.asynccontextmanager
async def realkube_gateway(
    server: RealKube,
    tmp_path: Path,
    *extra: str,
    complete_after: float = 0.1,
    job_config: Path | None = None,
) -> AsyncIterator[RunningGateway]:
    """A gateway on the kube backend against the real API server, in a namespace of its own, with
    the simulated plank (a real API server has no plank of its own).

    `job_config` replaces the example job directory (config.yaml stays the example's)."""
    namespace = server.new_namespace("gw")
    kubeconfig = server.kubeconfig_for(namespace, tmp_path)
    jobs = ("--job-config-path", str(job_config)) if job_config is not None else ()
    args = ("--namespace", namespace, *jobs, *extra)
    plank = _gateway_with_plank(kubeconfig, namespace, *args, complete_after=complete_after)
    async with plank as gateway:
        gateway.realkube = server  # type: ignore[attr-defined]
        gateway.namespace = namespace  # type: ignore[attr-defined]
        yield gateway


def job_dir(tmp_path: Path, name: str, text: str) -> Path:
    """A job-config directory holding one file `name` with `text`."""
    directory = tmp_path / "jobs"
    directory.mkdir()
    (directory / name).write_text(text)
    return directory


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
