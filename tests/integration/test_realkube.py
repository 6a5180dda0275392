"""What a real kube-apiserver with Prow's CRD answers to the ProwJobs the gateway builds.

- every job of the kubevirt config, built as the gateway builds it, passes a server-side dry run;
- a job with everything Go's encoder would have fixed (unnamed container, numeric quantities,
  numeric and boolean env values, a null command item) triggers over GraphQL and REST, and the
  stored ProwJob equals the dryRun manifest;
- a follow survives an API server restart (the resumed watch gets 410 and relists).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from prow_graphql.prow.jobs import Job
from prow_graphql.prow.loader import ConfigLoader
from prow_graphql.prow.objects import ProwJobType, Pull
from prow_graphql.prow.prowjob import build_prowjob, new_refs
from tests.conftest import job_dir, realkube_gateway
from tests.harness import KUBEVIRT, TransportWSClient, wait_ready
from tests.realkube import RealKube

ORG, REPO, JOB = "example-org", "awkward", "pull-awkward-unit"
SHA = "0123456789abcdef0123456789abcdef01234567"
# Shapes real configs have and that a JSON encoder without Go's types gets wrong.
AWKWARD_JOBS = f"""
presubmits:
  {ORG}/{REPO}:
  - name: {JOB}
    always_run: true
    spec:
      containers:
      - image: golang:1.22
        command:
        - make
        - # FIXME: a null item, as in the kubevirt config
        - test
        env:
        - name: RETRIES
          value: 3
        - name: DEBUG
          value: true
        - name: RATIO
          value: 1.5
        resources:
          requests:
            cpu: 2
            memory: 1Gi
          limits:
            cpu: 0.5
"""

TRIGGER = """
mutation($input: TriggerJobInput!) {
  triggerJob(input: $input) {
    __typename
    ... on TriggerJobSuccess { manifest prowJob { name } }
    ... on Error { message }
  }
}
"""

FOLLOW = """
subscription($name: String!) { prowJobUpdated(name: $name) { name state completionTime } }
"""


def prowjobs_path(namespace: str) -> str:
    return f"/apis/prow.k8s.io/v1/namespaces/{namespace}/prowjobs"


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """What the gateway decides about a ProwJob (the API server adds uid, times, versions)."""
    meta = obj["metadata"]
    return {
        "labels": meta.get("labels"),
        "annotations": meta.get("annotations"),
        "spec": obj["spec"],
    }


@pytest.mark.skipif(not (KUBEVIRT / "config.yaml").is_file(), reason="no kubevirt fixture")
@pytest.mark.timeout(120)  # ~15 s on a quiet machine (16 dry runs in flight); CI may be busier
async def test_every_kubevirt_job_is_accepted_by_the_real_api_server(realkube: RealKube) -> None:
    index = ConfigLoader(str(KUBEVIRT / "config.yaml"), str(KUBEVIRT / "jobs")).load()
    now = datetime.now(UTC)
    pull = Pull(number=1, author="alice", sha=SHA)
    built: list[tuple[Job, dict[str, Any]]] = []
    for org_repo in index.repos():
        org, repo = org_repo.split("/", 1)
        for job in index.presubmits(org_repo):
            refs = new_refs("https://github.com", org, repo, "main", base_sha=SHA, pull=pull)
            built.append((job, _build(job, ProwJobType.PRESUBMIT, refs, now)))
        for post in index.postsubmits(org_repo):
            refs = new_refs("https://github.com", org, repo, "main", base_sha=SHA)
            built.append((post, _build(post, ProwJobType.POSTSUBMIT, refs, now)))
    built += [(p, _build(p, ProwJobType.PERIODIC, None, now)) for p in index.periodics]
    assert len(built) == 1399 + 109 + 147

    rejected: list[str] = []
    limit = asyncio.Semaphore(16)  # enough to keep the API server busy, bounded

    async def dry_run(http: httpx.AsyncClient, job: Job, obj: dict[str, Any]) -> None:
        async with limit:
            response = await http.post(prowjobs_path("prow"), params={"dryRun": "All"}, json=obj)
        if response.status_code != 201:
            rejected.append(f"{job.source_path}: {job.name}: {response.text[:300]}")
        elif response.json()["spec"] != obj["spec"]:
            rejected.append(f"{job.source_path}: {job.name}: stored spec differs from the built")

    async with realkube.async_client() as http:
        await asyncio.gather(*(dry_run(http, job, obj) for job, obj in built))
    assert rejected == [], f"{len(rejected)} of {len(built)} rejected; first: {rejected[:3]}"


def _build(job: Job, run_as: ProwJobType, refs: Any, now: datetime) -> dict[str, Any]:
    return build_prowjob(job, run_as=run_as, refs=refs, scheduler_enabled=False, now=now)


@pytest.fixture
def awkward_jobs(tmp_path: Path) -> Path:
    return job_dir(tmp_path, "awkward.yaml", AWKWARD_JOBS)


async def test_an_awkward_job_triggers_and_reads_back_as_its_dry_run_manifest(
    realkube: RealKube, tmp_path: Path, awkward_jobs: Path
) -> None:
    async with realkube_gateway(realkube, tmp_path, job_config=awkward_jobs) as gw:
        await wait_ready(gw)
        request = {
            "org": ORG, "repo": REPO, "job": JOB, "type": "PRESUBMIT", "baseRef": "main",
            "pullRequest": {"number": 7, "sha": SHA}, "author": "alice",
        }  # fmt: skip
        dry = (await gw.query(TRIGGER, {"input": {**request, "dryRun": True}}))["data"]
        assert dry["triggerJob"]["__typename"] == "TriggerJobSuccess", dry
        manifest = dry["triggerJob"]["manifest"]
        container = manifest["spec"]["pod_spec"]["containers"][0]
        assert container["name"] == "" and container["command"] == ["make", "", "test"]
        assert container["resources"]["limits"] == {"cpu": "500m"}

        real = (await gw.query(TRIGGER, {"input": request}))["data"]["triggerJob"]
        assert real["__typename"] == "TriggerJobSuccess", real
        namespace: str = gw.namespace  # type: ignore[attr-defined]
        with realkube.client() as http:
            path = f"{prowjobs_path(namespace)}/{real['prowJob']['name']}"
            stored = http.get(path).json()
        assert comparable(stored) == comparable(manifest)

        # The same job through the REST endpoint lands in the cluster the same way.
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            response = await client.post(
                "/manual-trigger",
                json={"org": ORG, "repo": REPO, "base_ref": "main", "prowtype": "presubmit",
                      "prowjob": JOB, "pullrequest": 7, "user": "alice"},
            )  # fmt: skip
        assert response.status_code == 200, response.text
        with realkube.client() as http:
            via_rest = http.get(f"{prowjobs_path(namespace)}/{response.json()['job_name']}")
        assert via_rest.status_code == 200
        assert via_rest.json()["spec"]["pod_spec"] == manifest["spec"]["pod_spec"]


# A restart with open watches takes ~8 s (see tests/realkube.py), more on a loaded machine.
@pytest.mark.timeout(120)
async def test_a_follow_survives_an_api_server_restart(realkube: RealKube, tmp_path: Path) -> None:
    # Slow enough that the job is still running while the API server restarts.
    async with realkube_gateway(realkube, tmp_path, complete_after=8) as gw:
        await wait_ready(gw)
        result = await gw.query(
            TRIGGER,
            {"input": {"org": "example-org", "repo": "widgets", "job": "post-widgets-push-image",
                       "type": "POSTSUBMIT", "baseRef": "main"}},
        )  # fmt: skip
        name = result["data"]["triggerJob"]["prowJob"]["name"]
        informer = gw.app.state.gateway.informer
        relists_before = informer.stats.relists
        async with TransportWSClient.connect(gw.ws_url) as client:
            op = await client.subscribe(FOLLOW, {"name": name})
            first = await client.receive()
            assert first["payload"]["data"]["prowJobUpdated"]["name"] == name
            await asyncio.to_thread(realkube.restart_apiserver)
            updates = [first["payload"], *await client.collect(op, timeout=45)]
        states = [u["data"]["prowJobUpdated"]["state"] for u in updates]
        assert states[-1] == "SUCCESS", states
        assert updates[-1]["data"]["prowJobUpdated"]["completionTime"]
        # The resumed watch asked for a version from before the restart: 410, then a relist.
        assert informer.stats.relists > relists_before
