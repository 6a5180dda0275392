"""The real API server starts, has Prow's CRD and validates ProwJobs (the other legs rely on it)."""

from __future__ import annotations

from tests.realkube import RealKube


def test_realkube_serves_prowjobs_and_rejects_a_schema_violation(realkube: RealKube) -> None:
    namespace = realkube.new_namespace("smoke")
    path = f"/apis/prow.k8s.io/v1/namespaces/{namespace}/prowjobs"
    good = {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": "smoke-ok"},
        "spec": {"type": "periodic", "job": "smoke", "agent": "kubernetes"},
    }
    # A container without `name` is what the CRD rejects (Go always writes the key).
    bad = {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": "smoke-bad"},
        "spec": {
            "type": "periodic",
            "job": "smoke",
            "agent": "kubernetes",
            "pod_spec": {"containers": [{"image": "alpine"}]},
        },
    }
    with realkube.client() as http:
        created = http.post(path, json=good)
        assert created.status_code == 201, created.text
        assert created.json()["metadata"]["resourceVersion"]
        rejected = http.post(path, json=bad)
        assert rejected.status_code == 422
        status = rejected.json()
        assert status["reason"] == "Invalid"
        fields = [c["field"] for c in status["details"]["causes"]]
        assert "spec.pod_spec.containers[0].name" in fields
        listed = http.get(path).json()
        assert [i["metadata"]["name"] for i in listed["items"]] == ["smoke-ok"]
