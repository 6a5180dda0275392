"""YAML as Prow reads it (§8.2): go-yaml v2 scalars, sigs.k8s.io/yaml coercion, key matching."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.prow.goyaml import STRING, go_float32_text, go_key_text, go_plain_scalar
from prow_graphql.prow.loader import ConfigErrors, ConfigLoader, parse_yaml_file

SPEC = "spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (3.14159, "3.14159"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1e8, "1e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5, "-2.5"),
        (-0.0, "-0"),
        (0.0, "0"),
        (16777217.0, "1.6777216e+07"),  # float32 rounding, as Go's FormatFloat(f, 'g', -1, 32)
        (1e40, "+Inf"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_float_text_is_gos_shortest_float32_g_format(value: float, text: str) -> None:
    assert go_float32_text(value) == text


@pytest.mark.parametrize(
    ("plain", "value"),
    [
        ("true", True),
        ("y", True),
        ("Y", True),
        ("yes", True),
        ("On", True),
        ("n", False),
        ("NO", False),
        ("off", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("1", 1),
        ("-7", -7),
        ("0x1F", 31),
        ("0o17", 15),
        ("017", 15),  # YAML 1.1 / Go: a leading 0 is octal
        ("08", 8.0),  # not octal, so go-yaml falls through to a float
        ("1_000", 1000),
        ("1.0", 1.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("+.inf", math.inf),
        ("18446744073709551615", 18446744073709551615),  # uint64
        ("99999999999999999999", 1e20),
        ("1:30", STRING),  # base 60 in PyYAML, a string in go-yaml v2
        ("2024-01-01", STRING),  # timestamps stay text (decoded into interface{})
        ("1e400", STRING),  # float overflow is a parse error in Go
        ("TRUE1", STRING),
        ("=", STRING),
        ("yES", STRING),
    ],
)
def test_plain_scalars_resolve_as_go_yaml_v2(plain: str, value: Any) -> None:
    assert go_plain_scalar(plain) == value or (value is STRING and go_plain_scalar(plain) is STRING)
    assert type(go_plain_scalar(plain)) is type(value)


def test_map_keys_become_json_text() -> None:
    assert [go_key_text(k) for k in (True, 1, 1.0, 2.5, math.inf, "x")] == [
        "true",
        "1",
        "1",
        "2.5",
        ".inf",
        "x",
    ]
    assert go_key_text(None) is None


def test_parsed_file_uses_go_scalars_and_string_keys(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: y\nb: 1:30\nc: 2024-01-01\n1: one\ntrue: t\n1.5: f\nd: 017\n")
    assert parse_yaml_file(str(path)) == {
        "a": True,
        "b": "1:30",
        "c": "2024-01-01",
        "1": "one",
        "true": "t",
        "1.5": "f",
        "d": 15,
    }


def test_a_null_map_key_is_a_per_file_error(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("~: x\n")
    with pytest.raises(Exception, match="found a key Prow cannot use"):
        parse_yaml_file(str(path))


def _load(tmp_path: Path, jobs: str, config: str = "{}\n") -> Any:
    (tmp_path / "config.yaml").write_text(config)
    (tmp_path / "jobs").mkdir(exist_ok=True)
    (tmp_path / "jobs" / "jobs.yaml").write_text(jobs)
    return ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load()


def test_scalars_in_string_fields_load_as_prow_reads_them(tmp_path: Path) -> None:
    index = _load(
        tmp_path,
        "presubmits:\n"
        "  org/repo:\n"
        "  - name: 123\n"
        "    labels: {preset-x: true, weight: 1.0, n: 2}\n"
        "    annotations: {a: 1.5}\n"
        "    branches: [1.0, ~, main, 2]\n"
        "    always_run: y\n"
        "    max_concurrency: 3.0\n"
        "    context: 7\n"
        f"    {SPEC}\n",
    )
    (job,) = index.presubmits("org/repo")
    assert job.name == "123"
    assert dict(job.labels) == {"preset-x": "true", "weight": "1", "false": "2"}  # key n: YAML 1.1
    assert dict(job.annotations) == {"a": "1.5"}
    assert job.brancher.branches == ("1", "", "main", "2")
    assert job.always_run is True
    assert job.max_concurrency == 3
    assert job.context == "7"


def test_job_keys_match_case_insensitively_last_spelling_wins(tmp_path: Path) -> None:
    index = _load(
        tmp_path,
        "periodics:\n"
        "- Name: first\n"
        "  name: second\n"
        "  Interval: 1h\n"
        "  Labels: {a: b}\n"
        f"  {SPEC}\n",
    )
    (job,) = index.periodics
    assert (job.name, job.interval, dict(job.labels)) == ("second", "1h", {"a": "b"})


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("labels: {a: [x]}", "labels.a: expected a string, got a list ['x']"),
        ("branches: [{a: b}]", "branches: expected a list of strings"),
        ("context: {a: b}", "context: expected a string, got a mapping"),
        ("max_concurrency: 1.5", "max_concurrency: expected an integer, got a number 1.5"),
        ("always_run: 'yes'", "always_run: expected true or false, got a string 'yes'"),
    ],
)
def test_a_value_prow_cannot_decode_is_an_error_naming_file_job_and_field(
    tmp_path: Path, field: str, message: str
) -> None:
    with pytest.raises(ConfigErrors) as info:
        _load(tmp_path, f"presubmits:\n  org/repo:\n  - {{name: j, {field}, {SPEC}}}\n")
    (error,) = info.value.errors
    assert error.path == str(tmp_path / "jobs" / "jobs.yaml")
    assert error.job == "j"
    assert message in str(error)


def test_container_scalars_are_read_as_go_strings(tmp_path: Path) -> None:
    index = _load(
        tmp_path,
        "periodics:\n"
        "- name: p\n"
        "  interval: 1h\n"
        "  spec:\n"
        "    containers:\n"
        "    - image: alpine\n"
        "      command: [make, null, 1.0]\n"
        "      args: [y, 2]\n"
        "      env: [{name: A, value: true}, {name: B, value: 1.5}, {name: C, value: x}]\n",
    )
    (job,) = index.periodics
    (container,) = job.spec["containers"]
    assert container["command"] == ["make", "", "1"]
    assert container["args"] == ["true", "2"]  # y is a YAML 1.1 boolean
    assert container["env"] == [
        {"name": "A", "value": "true"},
        {"name": "B", "value": "1.5"},
        {"name": "C", "value": "x"},
    ]
    assert [e.value for e in job.containers[0].env] == ["true", "1.5", "x"]


def test_a_mapping_in_a_container_string_field_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        _load(
            tmp_path,
            "periodics:\n- {name: p, interval: 1h, spec: {containers: [{args: [{a: b}]}]}}\n",
        )
    (error,) = info.value.errors
    assert error.job == "p"
    assert "spec.containers[0].args: expected a string, got dict {'a': 'b'}" in str(error)


def test_extra_refs_and_node_selector_scalars_are_go_strings(tmp_path: Path) -> None:
    index = _load(
        tmp_path,
        "periodics:\n"
        "- name: p\n"
        "  interval: 1h\n"
        "  extra_refs: [{org: o, repo: 1.0, base_ref: 2024-01-01, workdir: true}]\n"
        "  spec:\n"
        "    nodeSelector: {gpu: true, zone: 1}\n"
        "    containers: [{image: alpine, command: ['true']}]\n",
    )
    (job,) = index.periodics
    # a YAML date stays as written: go-yaml v2 keeps timestamps as text in interface{} values
    assert job.extra_refs == ({"org": "o", "repo": "1", "base_ref": "2024-01-01", "workdir": True},)
    assert job.spec is not None
    assert job.spec["nodeSelector"] == {"gpu": "true", "zone": "1"}


def test_an_untouched_spec_is_not_copied() -> None:
    from prow_graphql.prow.goyaml import coerce_container_strings

    spec = {"containers": [{"image": "a", "command": ["x"], "env": [{"name": "A", "value": "1"}]}]}
    assert coerce_container_strings(spec, lambda m: None) is spec
