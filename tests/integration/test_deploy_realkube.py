"""deploy/ on a real API server: render with `kubectl kustomize`, apply (server-side dry run,
then for real), and run the gateway with a token of the ServiceAccount the manifests create.

Its Role must be enough for everything the gateway does: list and watch (the informer), create
(triggerJob) and, with the abort component, patch (abortProwJob); without that component the
abort is refused by the API server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import EXAMPLE, ROOT, RunningGateway, example_settings, serve, wait_ready
from tests.kubectl import kubectl, write_overlay
from tests.realkube import RealKube

DEPLOY = ROOT / "deploy"
TRIGGER = """
mutation {
  triggerJob(input: {org: "example-org", repo: "widgets", job: "pull-widgets-unit",
                     type: PRESUBMIT, baseRef: "main", pullRequest: {number: 4}}) {
    __typename
    ... on TriggerJobSuccess { prowJob { name state } }
    ... on Error { message }
  }
}
"""
ABORT = """
mutation ($name: String!) {
  abortProwJob(name: $name) {
    __typename
    ... on AbortProwJobSuccess { prowJob { name state } }
    ... on Error { message }
  }
}
"""


def install(realkube: RealKube, tmp_path: Path, *, abort: bool) -> tuple[str, list[Any]]:
    """Render deploy/ into a fresh namespace and apply it: dry run first, then for real."""
    namespace = realkube.new_namespace("deploy")
    components = (DEPLOY / "components" / "abort",) if abort else ()
    overlay = write_overlay(tmp_path / "overlay", (DEPLOY / "base",), components, namespace)
    rendered = kubectl("kustomize", str(overlay))
    admin = ["--kubeconfig", str(realkube.kubeconfig)]
    kubectl(*admin, "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=rendered)
    with realkube.client() as http:  # the dry run created nothing
        account = f"/api/v1/namespaces/{namespace}/serviceaccounts/prow-graphql"
        assert http.get(account).status_code == 404
    applied = kubectl(*admin, "apply", "--server-side", "-f", "-", stdin=rendered)
    objects = [d for d in yaml.safe_load_all(rendered) if d]
    assert applied.count(" serverside-applied") == len(objects), applied
    return namespace, objects


def service_account_kubeconfig(realkube: RealKube, namespace: str, directory: Path) -> Path:
    """A kubeconfig that authenticates as the manifests' ServiceAccount (a TokenRequest token)."""
    admin = ["--kubeconfig", str(realkube.kubeconfig)]
    token = kubectl(*admin, "-n", namespace, "create", "token", "prow-graphql").strip()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "realkube",
                "cluster": {
                    "server": realkube.server,
                    "certificate-authority": str(realkube.ca_file),
                },
            }
        ],
        "users": [{"name": "prow-graphql", "user": {"token": token}}],
        "contexts": [
            {
                "name": "sa",
                "context": {"cluster": "realkube", "user": "prow-graphql", "namespace": namespace},
            }
        ],
        "current-context": "sa",
    }
    path = directory / "kubeconfig-sa"
    path.write_text(yaml.safe_dump(config))
    return path


# One job whose container has a name: the real CRD requires `name`, and a config without one
# gets a ProwJob the API server refuses (a ProwJob-building matter tested elsewhere, not RBAC's).
JOBS = """
presubmits:
  example-org/widgets:
    - name: pull-widgets-unit
      always_run: true
      spec:
        containers:
          - name: test
            image: alpine:3.20
            command: ["true"]
"""


def gateway_settings(kubeconfig: Path, namespace: str, directory: Path) -> Any:
    jobs = directory / "jobs"
    jobs.mkdir()
    (jobs / "widgets.yaml").write_text(JOBS)
    return example_settings(
        "--config-path", str(EXAMPLE / "config.yaml"), "--job-config-path", str(jobs),
        "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--enable-abort",
        backend="kube",
    )  # fmt: skip


async def triggered(gateway: RunningGateway) -> str:
    result = (await gateway.query(TRIGGER))["data"]["triggerJob"]
    assert result["__typename"] == "TriggerJobSuccess", result
    name: str = result["prowJob"]["name"]
    return name


@pytest.mark.timeout(180)
async def test_gateway_runs_with_the_deployed_service_account(
    realkube: RealKube, tmp_path: Path
) -> None:
    namespace, objects = install(realkube, tmp_path, abort=True)
    assert "--enable-abort" in objects_args(objects)
    kubeconfig = service_account_kubeconfig(realkube, namespace, tmp_path)
    async with serve(gateway_settings(kubeconfig, namespace, tmp_path)) as gateway:
        await wait_ready(gateway)  # listed and watching with the ServiceAccount's token
        name = await triggered(gateway)  # create
        seen = await gateway.query(
            "query ($n: String!) { prowJob(name: $n) { state } }", {"n": name}
        )
        for _ in range(50):  # the watch delivers the new job
            if seen["data"]["prowJob"] is not None:
                break
            seen = await gateway.query(
                "query ($n: String!) { prowJob(name: $n) { state } }", {"n": name}
            )
        assert seen["data"]["prowJob"] == {"state": "TRIGGERED"}
        aborted = (await gateway.query(ABORT, {"name": name}))["data"]["abortProwJob"]
    assert aborted["__typename"] == "AbortProwJobSuccess", aborted
    assert aborted["prowJob"]["state"] == "ABORTED"


@pytest.mark.timeout(180)
async def test_without_the_abort_component_the_role_cannot_abort(
    realkube: RealKube, tmp_path: Path
) -> None:
    namespace, objects = install(realkube, tmp_path, abort=False)
    assert "--enable-abort" not in objects_args(objects)
    kubeconfig = service_account_kubeconfig(realkube, namespace, tmp_path)
    # The gateway is told to offer abort, but the Role lacks `patch`: the API server refuses.
    async with serve(gateway_settings(kubeconfig, namespace, tmp_path)) as gateway:
        await wait_ready(gateway)
        name = await triggered(gateway)
        body = await gateway.query(ABORT, {"name": name})
    refused = body["data"]["abortProwJob"]
    # A typed result that says a retry cannot help; the API server's text stays in the log.
    assert refused["__typename"] == "BackendForbidden", body
    assert "grant its service account" in refused["message"], refused


def objects_args(objects: list[Any]) -> list[str]:
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args
