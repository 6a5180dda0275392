"""jobRuns and jobStats end to end over HTTP, on the embedded backend and the fake API server.

Finished runs are written into the backend the way plank would (create, then a status patch)
through the gateway's own store, i.e. the API server on the kube backend; one more run is
triggered through GraphQL and followed to its end to show the stats move live.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from prow_graphql.prow.objects import format_time
from tests.harness import RunningGateway, wait_ready

ORG, REPO = "example-org", "widgets"
JOB = "pull-widgets-unit"

RUNS = """
query Runs($job: String!, $first: Int!, $after: String, $branch: String, $repo: String) {
  jobRuns(job: $job, first: $first, after: $after, branch: $branch, repo: $repo) {
    __typename
    ... on ProwJobConnection { totalCount pageInfo { hasNextPage endCursor }
                               nodes { name state durationSeconds refs { baseRef } } }
    ... on Error { message }
  }
}
"""

STATS = """
query Stats($job: String!, $branch: String) {
  jobStats(job: $job, branch: $branch) {
    __typename
    ... on JobStats { job runs running succeeded failed aborted passRate
                      p50DurationSeconds p90DurationSeconds
                      lastRun { name } lastFailure { name state url statusLink } }
    ... on Error { message }
    ... on InvalidInput { field }
  }
}
"""

# (state, duration in seconds, base branch), oldest first
HISTORY = [
    ("success", 100, "main"),
    ("failure", 300, "main"),
    ("success", 200, "main"),
    ("aborted", 50, "main"),
    ("success", 400, "release-1.0"),
]


def _prowjob(state: str, seconds: int, branch: str, started: datetime) -> dict[str, Any]:
    name = str(uuid.uuid4())
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": name,
            "labels": {"prow.k8s.io/job": JOB, "prow.k8s.io/type": "periodic"},
        },
        # agent "jenkins": the simulated plank leaves these runs alone
        "spec": {
            "type": "periodic",
            "job": JOB,
            "agent": "jenkins",
            "cluster": "default",
            "extra_refs": [{"org": ORG, "repo": REPO, "base_ref": branch}],
        },
        "status": {
            "state": state,
            "startTime": format_time(started),
            "completionTime": format_time(started + timedelta(seconds=seconds)),
            "url": f"https://prow.example.com/view/gs/bucket/logs/{JOB}/{name}",
        },
    }


async def _seed(gateway: RunningGateway) -> list[str]:
    """Write HISTORY as finished runs; returns their names, oldest first."""
    store = gateway.app.state.gateway.store
    base = datetime.now(UTC) - timedelta(hours=2)
    names = []
    for i, (state, seconds, branch) in enumerate(HISTORY):
        obj = _prowjob(state, seconds, branch, base + timedelta(minutes=10 * i))
        created = await store.create(obj)
        name = created["metadata"]["name"]
        await store.patch(name, {"status": obj["status"]})
        names.append(name)
    return names


async def _stats(gateway: RunningGateway, **variables: Any) -> dict[str, Any]:
    body = await gateway.query(STATS, {"job": JOB, **variables})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["jobStats"]
    return result


async def _wait_for_runs(gateway: RunningGateway, count: int) -> None:
    async with asyncio.timeout(10):
        while (await _stats(gateway))["runs"] < count:
            await asyncio.sleep(0.02)


async def test_stats_count_pass_rate_and_durations(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    names = await _seed(gateway)
    await _wait_for_runs(gateway, len(HISTORY))
    async with asyncio.timeout(10):
        while (stats := await _stats(gateway))["succeeded"] < 3:
            await asyncio.sleep(0.02)
    assert stats["__typename"] == "JobStats"
    assert (stats["runs"], stats["succeeded"], stats["failed"], stats["aborted"]) == (5, 3, 1, 1)
    assert stats["passRate"] == 0.75  # aborted runs are left out
    # nearest rank over 100, 200, 300, 400 (the aborted 50 s run does not count)
    assert (stats["p50DurationSeconds"], stats["p90DurationSeconds"]) == (200, 400)
    assert stats["lastRun"]["name"] == names[-1]
    failure = stats["lastFailure"]
    assert failure["name"] == names[1] and failure["state"] == "FAILURE"
    assert failure["url"].endswith(names[1])
    assert failure["statusLink"].endswith(f"prowjob={names[1]}")

    on_release = await _stats(gateway, branch="release-1.0")
    assert (on_release["runs"], on_release["passRate"], on_release["lastFailure"]) == (
        5 - 4,
        1,
        None,
    )


async def test_runs_page_newest_first_and_filter_by_branch(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    names = await _seed(gateway)
    await _wait_for_runs(gateway, len(HISTORY))
    body = await gateway.query(RUNS, {"job": JOB, "first": 3})
    page = body["data"]["jobRuns"]
    assert page["__typename"] == "ProwJobConnection"
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"]
    assert [n["name"] for n in page["nodes"]] == names[::-1][:3]
    after = page["pageInfo"]["endCursor"]
    rest = (await gateway.query(RUNS, {"job": JOB, "first": 3, "after": after}))["data"]["jobRuns"]
    assert [n["name"] for n in rest["nodes"]] == names[::-1][3:]
    assert not rest["pageInfo"]["hasNextPage"]

    main = await gateway.query(RUNS, {"job": JOB, "first": 10, "branch": "main", "repo": REPO})
    nodes = main["data"]["jobRuns"]["nodes"]
    assert [n["name"] for n in nodes] == names[:4][::-1]
    assert {n["refs"] for n in nodes} == {None}  # periodics carry their repo in extra_refs
    assert nodes[-1]["durationSeconds"] == 100


async def test_unknown_job_and_bad_page_size_are_typed_errors(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    body = await gateway.query(RUNS, {"job": "no-such-job", "first": 5})
    assert body["data"]["jobRuns"]["__typename"] == "JobNotFound"
    assert "no-such-job" in body["data"]["jobRuns"]["message"]
    stats = await gateway.query(STATS, {"job": "no-such-job"})
    assert stats["data"]["jobStats"]["__typename"] == "JobNotFound"
    bad = await gateway.query(RUNS, {"job": JOB, "first": 5000})
    assert bad["data"]["jobRuns"]["__typename"] == "InvalidInput"


async def test_configured_job_without_runs_has_empty_stats(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    stats = await _stats(gateway)
    assert stats["__typename"] == "JobStats"
    assert (stats["runs"], stats["passRate"], stats["p50DurationSeconds"]) == (0, None, None)
    assert stats["lastRun"] is None and stats["lastFailure"] is None


async def test_a_triggered_run_shows_up_and_finishes(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    body = await gateway.query(
        "mutation($i: TriggerJobInput!) { triggerJob(input: $i) { __typename "
        "... on TriggerJobSuccess { prowJob { name } } ... on Error { message } } }",
        {
            "i": {
                "org": ORG,
                "repo": REPO,
                "job": JOB,
                "type": "PRESUBMIT",
                "baseRef": "main",
                "pullRequest": {"number": 7},
            }
        },
    )
    assert "prowJob" in body["data"]["triggerJob"], body
    name = body["data"]["triggerJob"]["prowJob"]["name"]
    async with asyncio.timeout(10):
        while (stats := await _stats(gateway))["succeeded"] < 1:
            await asyncio.sleep(0.02)
    assert stats["runs"] == 1 and stats["running"] == 0 and stats["passRate"] == 1
    assert stats["lastRun"]["name"] == name
    assert stats["p50DurationSeconds"] is not None
