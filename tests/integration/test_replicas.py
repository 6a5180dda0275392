"""Two gateway replicas against one API server: what one creates, the other follows live.

Each replica has its own informer (one watch per process); a PlankSimulator with its own API
client plays plank. Nothing is shared between the replicas but the fake API server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prow_graphql.informer import Informer
from prow_graphql.prow.links import job_url
from prow_graphql.prow.loader import ConfigLoader
from prow_graphql.store.kube import connect
from prow_graphql.store.simulator import PlankSimulator
from tests.fakekube import FakeKubeServer
from tests.harness import EXAMPLE, RunningGateway, TransportWSClient, example_settings, serve

ORG, REPO, POSTSUBMIT = "example-org", "widgets", "post-widgets-push-image"
TIMEOUT = 15.0

TRIGGER = """
mutation Trigger($input: TriggerJobInput!) {
  triggerJob(input: $input) {
    __typename
    ... on TriggerJobSuccess { prowJob { name state } }
    ... on Error { message }
  }
}
"""
FOLLOW = """
subscription Follow($name: String!) {
  prowJobUpdated(name: $name) { name state buildId url resourceVersion }
}
"""
EVENTS = """
subscription Events($job: String!) {
  prowJobEvents(filter: {job: $job}) { type prowJob { name state buildId } }
}
"""
GET = "query($n: String!) { prowJob(name: $n) { name state buildId url resourceVersion } }"
ORDER = ["TRIGGERED", "PENDING", "SUCCESS"]


@dataclass
class Cluster:
    kube: FakeKubeServer
    a: RunningGateway
    b: RunningGateway


def informer_of(gw: RunningGateway) -> Informer:
    informer = gw.app.state.gateway.informer
    assert isinstance(informer, Informer)
    return informer


@contextlib.asynccontextmanager
async def two_replicas(tmp_path: Path) -> AsyncIterator[Cluster]:
    index = ConfigLoader(str(EXAMPLE / "config.yaml"), str(EXAMPLE / "jobs")).load()
    async with FakeKubeServer(namespace=index.config.prowjob_namespace) as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        plank_store = await connect(str(kubeconfig), None, kube.namespace)
        # Slow enough that a follower attached right after the trigger usually sees it run.
        simulator = PlankSimulator(
            plank_store,
            pending_after=0.3,
            complete_after=0.3,
            url_for=lambda obj, build_id: job_url(obj, build_id, index.config.plank),
        )
        sim = asyncio.create_task(simulator.run())
        settings = example_settings("--kubeconfig", str(kubeconfig), backend="kube")
        try:
            async with serve(settings) as a, serve(settings) as b:
                for gw in (a, b):
                    await asyncio.wait_for(informer_of(gw).synced.wait(), TIMEOUT)
                yield Cluster(kube, a, b)
        finally:
            sim.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sim
            await plank_store.aclose()


async def trigger(gw: RunningGateway) -> str:
    body = await gw.query(
        TRIGGER,
        {"input": {"org": ORG, "repo": REPO, "job": POSTSUBMIT, "type": "POSTSUBMIT",
                   "baseRef": "main"}},
    )  # fmt: skip
    result = body["data"]["triggerJob"]
    assert result["__typename"] == "TriggerJobSuccess", body
    assert result["prowJob"]["state"] == "TRIGGERED"
    name: str = result["prowJob"]["name"]
    return name


async def events_until_final(client: TransportWSClient, op: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while not seen or seen[-1]["prowJob"]["state"] != "SUCCESS":
            message = await client.receive(TIMEOUT)
            assert message.get("id") == op and message["type"] == "next", message
            seen.append(message["payload"]["data"]["prowJobEvents"])
    return seen


async def follow_through(
    origin: RunningGateway, other: RunningGateway, kube: FakeKubeServer
) -> None:
    """Trigger on `origin`; follow it on `other` (a feed listening before, a follower after)."""
    async with (
        TransportWSClient.connect(other.ws_url) as feed,
        TransportWSClient.connect(other.ws_url) as follower,
    ):
        informer = informer_of(other)
        listening = informer.subscriber_count
        feed_op = await feed.subscribe(EVENTS, {"job": POSTSUBMIT})
        await kube.wait_for(lambda: informer.subscriber_count == listening + 1, within=TIMEOUT)
        name = await trigger(origin)
        follow_op = await follower.subscribe(FOLLOW, {"name": name})
        updates, events = await asyncio.gather(
            follower.collect(follow_op, TIMEOUT), events_until_final(feed, feed_op)
        )

    # The feed was listening before the job existed: it saw the whole life, in order.
    assert {e["prowJob"]["name"] for e in events} == {name}
    assert [e["prowJob"]["state"] for e in events] == ORDER
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "MODIFIED"]
    build_id = events[1]["prowJob"]["buildId"]
    assert build_id and build_id.isdigit() and events[2]["prowJob"]["buildId"] == build_id

    # The follower attached right after the trigger: maybe after TRIGGERED, never backwards.
    states = [u["data"]["prowJobUpdated"]["state"] for u in updates]
    assert states[-1] == "SUCCESS"
    assert [ORDER.index(s) for s in states] == sorted(ORDER.index(s) for s in states)
    final = updates[-1]["data"]["prowJobUpdated"]
    assert final["buildId"] == build_id
    server = kube.objects[name]
    assert final["resourceVersion"] == server["metadata"]["resourceVersion"]

    # Both replicas answer the query from their caches with the same, final object.
    for gw in (other, origin):
        got = (await gw.query(GET, {"n": name}))["data"]["prowJob"]
        assert got == final


async def test_job_triggered_on_a_is_followed_live_on_b(tmp_path: Path) -> None:
    async with two_replicas(tmp_path) as cluster:
        await follow_through(cluster.a, cluster.b, cluster.kube)
        await follow_through(cluster.b, cluster.a, cluster.kube)
        assert len(cluster.kube.objects) == 2


async def test_one_watch_per_replica_whatever_the_followers(tmp_path: Path) -> None:
    async with two_replicas(tmp_path) as cluster:
        name = await trigger(cluster.a)
        await informer_of(cluster.b).wait_for(name, lambda r: True, TIMEOUT)
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(TransportWSClient.connect(gw.ws_url))
                for gw in (cluster.a, cluster.b)
                for _ in range(5)
            ]
            ops = [await c.subscribe(FOLLOW, {"name": name}) for c in clients]
            results = await asyncio.gather(
                *(c.collect(op, TIMEOUT) for c, op in zip(clients, ops, strict=True))
            )
        finals = {r[-1]["data"]["prowJobUpdated"]["resourceVersion"] for r in results}
        assert finals == {cluster.kube.objects[name]["metadata"]["resourceVersion"]}
        # Ten followers on two replicas: still one watch each, plus plank's.
        watches = [r for r in cluster.kube.requests if r.verb == "watch"]
        assert len(watches) == 3
        assert cluster.kube.counts["list"] == 3
