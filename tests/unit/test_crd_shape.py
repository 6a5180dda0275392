"""ProwJobs shaped by Prow's CRD as Go's encoder and the API server shape them (prow/crd_shape.py),
Go's text for YAML scalars and canonical quantities (prow/go_values.py)."""

from __future__ import annotations

import copy
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.prow.crd_shape import prowjob_schema, shape_prowjob
from prow_graphql.prow.go_values import canonical_quantity, go_string
from prow_graphql.prow.loader import ConfigLoader
from prow_graphql.prow.objects import ProwJobType
from prow_graphql.prow.prowjob import build_prowjob
from tests.harness import KUBEVIRT, ROOT, SHARED

CRD = SHARED / "fixtures" / "prow" / "crd" / "prowjob_customresourcedefinition.yaml"


def prowjob(pod_spec: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": "x", "labels": {"a": "b"}},
        "spec": {"type": "periodic", "job": "j", "pod_spec": pod_spec, **spec},
        "status": {"state": "triggered", "startTime": "2026-01-02T03:04:05Z"},
    }


def test_the_issues_four_rejections_are_shaped_away() -> None:
    raw = prowjob(
        {
            "containers": [
                {
                    "image": "golang:1",
                    "command": ["make", None, "test"],
                    "env": [
                        {"name": "RETRIES", "value": 3},
                        {"name": "DEBUG", "value": True},
                        {"name": "RATIO", "value": 1.5},
                    ],
                    "resources": {"requests": {"cpu": 2, "memory": "1Gi"}, "limits": {"cpu": 0.5}},
                }
            ]
        }
    )
    container = shape_prowjob(raw)["spec"]["pod_spec"]["containers"][0]
    assert container == {
        "name": "",  # required by the CRD: Go writes "" for an unnamed container
        "image": "golang:1",
        "command": ["make", "", "test"],
        "env": [
            {"name": "RETRIES", "value": "3"},
            {"name": "DEBUG", "value": "true"},
            {"name": "RATIO", "value": "1.5"},
        ],
        "resources": {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "500m"}},
    }


def test_unknown_keys_are_pruned_except_where_the_schema_preserves_them() -> None:
    raw = prowjob(
        {"containers": [{"name": "c", "image": "i", "bogus": 1}], "notAPodField": True},
        unknown_spec_key="x",
        pipeline_run_spec={"anything": {"goes": [1, None]}},
    )
    raw["status"]["extra"] = "dropped"
    shaped = shape_prowjob(raw)
    assert shaped["spec"]["pod_spec"] == {"containers": [{"name": "c", "image": "i"}]}
    assert "unknown_spec_key" not in shaped["spec"]
    assert shaped["spec"]["pipeline_run_spec"] == {"anything": {"goes": [1, None]}}
    assert "extra" not in shaped["status"]
    assert shaped["metadata"] == raw["metadata"]  # ObjectMeta belongs to the API server


def test_required_keys_get_go_zero_values_and_defaults_apply() -> None:
    raw = prowjob(
        {
            "containers": [{"image": "i", "ports": [{"containerPort": 80}]}],
            "affinity": {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}],
                },
            },
        }
    )
    pod_spec = shape_prowjob(raw)["spec"]["pod_spec"]
    assert pod_spec["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    term = pod_spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term == [{"weight": 1, "preference": {}}]


def test_nulls_are_pruned_or_zeroed_and_keys_match_case_insensitively() -> None:
    raw = prowjob({"containers": [{"Name": "c", "image": "i", "workingDir": None}]}, cluster=None)
    raw["spec"]["refs"] = {"org": "o", "repo": "r", "pulls": [{"number": 1.0, "sha": None}]}
    shaped = shape_prowjob(raw)
    assert shaped["spec"]["pod_spec"]["containers"] == [{"name": "c", "image": "i"}]
    assert "cluster" not in shaped["spec"]
    assert shaped["spec"]["refs"]["pulls"] == [{"number": 1, "sha": "", "author": ""}]


def test_values_that_cannot_take_the_type_are_left_for_the_api_server() -> None:
    raw = prowjob({"containers": [{"name": "c", "image": ["not", "a", "string"]}]})
    raw["spec"]["pod_spec"]["containers"][0]["resources"] = {"limits": {"cpu": "lots"}}
    container = shape_prowjob(raw)["spec"]["pod_spec"]["containers"][0]
    assert container["image"] == ["not", "a", "string"]
    assert container["resources"] == {"limits": {"cpu": "lots"}}


def test_the_input_is_never_changed() -> None:
    raw = prowjob({"containers": [{"image": "i", "command": [None], "env": [{"name": "A"}]}]})
    before = copy.deepcopy(raw)
    shape_prowjob(raw)
    assert raw == before


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (1, "1"),
        (-42, "-42"),
        (1.0, "1"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (3.14159265358979, "3.1415927"),  # float32 shortest digits
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (float("inf"), ".inf"),
    ],
)
def test_go_string(value: bool | float, text: str) -> None:
    assert go_string(value) == text


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (2, "2"),
        (0.5, "500m"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("0.9Gi", "966367641600m"),
        ("512Ki", "512Ki"),
        ("1000", "1k"),
        ("1500m", "1500m"),
        ("0.1", "100m"),
        ("1e3", "1e3"),
        ("12e6", "12e6"),
        ("100M", "100M"),
        ("-0.5", "-500m"),
        (".5", "500m"),
        ("0Gi", "0"),
        ("0.0000000001", "1n"),  # nano precision, rounded away from zero
        ("1 Gi", None),
        ("lots", None),
        (True, None),
    ],
)
def test_canonical_quantity(value: object, canonical: str | None) -> None:
    assert canonical_quantity(value) == canonical


@pytest.mark.skipif(not CRD.is_file(), reason=f"Prow's CRD is not beside the repo ({CRD})")
def test_the_packaged_schema_is_derived_from_prows_crd(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    script = ROOT / "scripts" / "compact_crd.py"
    subprocess.run(
        [sys.executable, str(script), "--crd", str(CRD), "--output", str(out)], check=True
    )
    assert json.loads(out.read_text()) == prowjob_schema()


@pytest.mark.skipif(not (KUBEVIRT / "config.yaml").is_file(), reason="no kubevirt fixture")
def test_shaping_costs_well_under_a_millisecond_per_prowjob() -> None:
    index = ConfigLoader(str(KUBEVIRT / "config.yaml"), str(KUBEVIRT / "jobs")).load()
    now = datetime(2026, 1, 2, tzinfo=UTC)
    built = [
        build_prowjob(job, run_as=ProwJobType.PERIODIC, refs=None, scheduler_enabled=False, now=now)
        for job in index.periodics
    ]
    timings = []
    for obj in built:
        started = time.perf_counter()
        shape_prowjob(obj)
        timings.append(time.perf_counter() - started)
    # About 50 µs on a quiet machine; the bound leaves room for a loaded CI runner.
    assert statistics.median(timings) < 0.001
