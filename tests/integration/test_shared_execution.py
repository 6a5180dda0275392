"""Work done once and shared: config-only query results per snapshot, identical subscriptions."""

from __future__ import annotations

import asyncio
import contextlib

from tests.harness import RunningGateway, TransportWSClient, example_settings, serve, wait_ready

REPOS = "{ repos { org repo presubmits { name branches containers { image } } } }"


async def test_config_queries_are_cached_per_snapshot_and_equal_a_fresh_execution() -> None:
    async with serve(example_settings()) as gw:
        store = gw.app.state.gateway.result_store
        first = await gw.query(REPOS)
        second = await gw.query(REPOS)
        assert first == second and "errors" not in first
        assert (store.misses, store.hits) == (1, 1)
        # Same document with different variables, or a query that mixes in live data, is not
        # served from the cache.
        await gw.query("{ repos { org } prowJobs { totalCount } }")
        assert store.hits == 1


async def test_identical_subscriptions_execute_once_for_all_followers() -> None:
    async with serve(example_settings("--sim-pending-after", "0.3")) as gw:
        await wait_ready(gw)
        body = await gw.query(
            'mutation { triggerJob(input: {org: "example-org", repo: "widgets", '
            'job: "post-widgets-push-image", type: POSTSUBMIT, baseRef: "main"}) '
            "{ ... on TriggerJobSuccess { prowJob { name } } } }"
        )
        name = body["data"]["triggerJob"]["prowJob"]["name"]
        shared = gw.app.state.gateway.shared_streams
        document = "subscription($n: String!) { prowJobUpdated(name: $n) { state buildId } }"
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(TransportWSClient.connect(gw.ws_url))
                for _ in range(30)
            ]
            ops = [await c.subscribe(document, {"n": name}) for c in clients]
            results = await asyncio.gather(
                *(c.collect(op) for c, op in zip(clients, ops, strict=True))
            )
        assert shared.executions_started == 1
        for updates in results:
            states = [u["data"]["prowJobUpdated"]["state"] for u in updates]
            assert states[-1] == "SUCCESS"
            assert updates[-1]["data"]["prowJobUpdated"]["buildId"]
        assert shared.active == 0  # the shared execution ends with its job


async def test_late_joiner_gets_the_current_state_first(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    body = await gateway.query(
        'mutation { triggerJob(input: {org: "example-org", repo: "widgets", '
        'job: "post-widgets-push-image", type: POSTSUBMIT, baseRef: "main", dryRun: false}) '
        "{ ... on TriggerJobSuccess { prowJob { name } } } }"
    )
    name = body["data"]["triggerJob"]["prowJob"]["name"]
    document = "subscription($n: String!) { prowJobUpdated(name: $n) { state } }"
    async with TransportWSClient.connect(gateway.ws_url) as early:
        op = await early.subscribe(document, {"n": name})
        first = await early.receive()
        assert first["type"] == "next"
        async with TransportWSClient.connect(gateway.ws_url) as late:
            late_op = await late.subscribe(document, {"n": name})
            late_updates = await late.collect(late_op)
        early_updates = [first["payload"], *await early.collect(op)]
    assert late_updates and late_updates[-1]["data"]["prowJobUpdated"]["state"] == "SUCCESS"
    assert early_updates[-1] == late_updates[-1]
