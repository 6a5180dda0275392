"""deploy/components/pod-logs and deploy/build-cluster: live logs' flag, Secret and RBAC.

Rendered with the real `kubectl kustomize` (tests.kubectl), checked with test_deploy_manifests'
schemas and the real flag parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kubectl import kustomize, write_overlay
from tests.unit.test_deploy_manifests import (
    BASE,
    DEPLOY,
    Obj,
    _schema_errors,
    container,
    flags,
    one,
    serve_parser,
)

POD_LOGS = DEPLOY / "components" / "pod-logs"
BUILD_CLUSTER = DEPLOY / "build-cluster"


@pytest.fixture(scope="module")
def with_pod_logs(tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    directory = tmp_path_factory.mktemp("pod-logs")
    return kustomize(write_overlay(directory, (BASE,), (POD_LOGS,), namespace="prow"))


@pytest.fixture(scope="module")
def build_cluster() -> list[Obj]:
    return kustomize(BUILD_CLUSTER)


def test_component_passes_the_build_cluster_kubeconfig_from_a_secret(
    with_pod_logs: list[Obj],
) -> None:
    gateway = container(with_pod_logs)
    [path] = flags(gateway["args"])["--build-cluster-kubeconfig"]
    mount = next(m for m in gateway["volumeMounts"] if m["name"] == "build-clusters")
    assert Path(path).parent == Path(mount["mountPath"]) and mount["readOnly"]
    pod = one(with_pod_logs, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "build-clusters")
    assert volume["secret"]["secretName"] == "prow-graphql-build-clusters"
    ours = [a for a in gateway["args"] if a.startswith("--build-cluster")]
    assert serve_parser().parse_args(["--config-path", "c.yaml", *ours]).build_cluster_kubeconfig
    assert [e for obj in with_pod_logs for e in _schema_errors(obj)] == []


def test_component_adds_no_rbac_to_the_gateways_namespace(with_pod_logs: list[Obj]) -> None:
    rules = one(with_pod_logs, "Role")["rules"]
    assert all("pods/log" not in r["resources"] for r in rules)


def test_build_cluster_rbac_is_pods_log_get_in_the_pod_namespace(build_cluster: list[Obj]) -> None:
    assert {o["metadata"]["namespace"] for o in build_cluster} == {"test-pods"}
    role = one(build_cluster, "Role")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]
    binding = one(build_cluster, "RoleBinding")
    account = one(build_cluster, "ServiceAccount")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    [subject] = binding["subjects"]
    assert (subject["kind"], subject["name"]) == ("ServiceAccount", account["metadata"]["name"])
    assert subject.get("namespace", "test-pods") == "test-pods"
    assert [e for obj in build_cluster for e in _schema_errors(obj)] == []
