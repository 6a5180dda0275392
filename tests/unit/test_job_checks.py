"""Prow's per-job validation (§8.4) and robfig cron syntax, with Prow's table cases as data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prow_graphql.prow.cron import cron_error
from prow_graphql.prow.job_checks import (
    check_agent,
    check_annotations,
    check_clone_uri,
    check_decoration,
    check_labels,
    check_periodic_schedule,
    check_pod_spec,
    check_reporting,
)
from prow_graphql.prow.loader import ConfigErrors, ConfigLoader

IMAGES = {"clonerefs": "c", "initupload": "i", "entrypoint": "e", "sidecar": "s"}
GCS = {"bucket": "b", "path_strategy": "explicit"}
DECORATION = {"utility_images": IMAGES, "gcs_configuration": GCS}


@pytest.mark.parametrize(
    ("labels", "valid"),
    [
        ({}, True),
        ({"prow.k8s.io/type": "anything"}, False),  # reserved for decoration
        ({"created-by-prow": "x"}, False),
        ({"prow.k8s.io/id": "x"}, False),
        ({"_underscore-prefix": "annoying"}, False),
        ({"whatever": "_private-is-rejected"}, False),
        ({"preset-x": ""}, True),
        ({"example.com/a": "b"}, True),
        ({"Example.com/a": "b"}, False),  # the prefix is a lowercase DNS subdomain
        ({"a": "x" * 64}, False),
    ],
)
def test_validate_labels(labels: dict[str, str], valid: bool) -> None:
    """Go's TestValidateLabels (pkg/config/config_test.go) plus key and value edge cases."""
    assert (check_labels(labels) == []) is valid


def test_annotation_keys_must_be_qualified_names() -> None:
    assert check_annotations({"testgrid-dashboards": "x y z", "a.b/c": ""}) == []
    (message,) = check_annotations({"bad key": "v"})
    assert message.startswith("invalid annotation key 'bad key': name part must be")


def _agent(**overrides: Any) -> list[str]:
    fields: dict[str, Any] = {
        "agent": "kubernetes",
        "has_spec": True,
        "has_pipeline_run_spec": False,
        "decorated": False,
        "error_on_eviction": False,
        "namespace": "ns",
        "pod_namespace": "ns",
    }
    fields.update(overrides)
    return check_agent(**fields)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"agent": "random-agent", "has_spec": False}, None),  # accept unknown agent
        ({"has_spec": False}, "agent kubernetes needs a `spec:`"),
        ({"namespace": "other"}, "namespace customization requires agent: tekton-pipeline"),
        ({}, None),
        ({"decorated": True}, None),
        ({"agent": "jenkins", "has_spec": False}, None),
        ({"error_on_eviction": True}, None),
        ({"agent": "jenkins", "has_spec": False, "error_on_eviction": True}, "error_on_eviction"),
        ({"agent": "jenkins"}, "job specs require agent: kubernetes (found 'jenkins')"),
        ({"agent": "jenkins", "has_spec": False, "decorated": True}, "decoration requires agent"),
        ({"agent": "tekton-pipeline", "has_spec": False}, "jobs require a pipeline_run_spec"),
        ({"has_pipeline_run_spec": True}, "job pipeline_run_spec require agent"),
    ],
)
def test_validate_agent(overrides: dict[str, Any], error: str | None) -> None:
    """Go's TestValidateAgent cases, plus the decoration and pipeline rules of validateAgent."""
    found = _agent(**overrides)
    if error is None:
        assert found == []
    else:
        (message,) = found
        assert error in message


def _containers(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "image": "i", "command": ["c"]} for n in names]


@pytest.mark.parametrize(
    ("job_type", "spec", "decoration", "errors"),
    [
        ("presubmit", None, None, []),
        ("presubmit", {"containers": []}, None, ["at least 1 container, found: 0"]),
        ("presubmit", {"containers": _containers("a", "b")}, None, ["must be enabled to use"]),
        ("presubmit", {"containers": _containers("a", "b")}, DECORATION, []),
        ("presubmit", {"containers": _containers("a", "")}, DECORATION, ["must have names"]),
        ("presubmit", {"containers": _containers("a", "a")}, DECORATION, ["more than once"]),
        ("presubmit", {"containers": _containers("a", "sidecar")}, DECORATION, ["reserved"]),
        (
            "presubmit",
            {"containers": _containers("a"), "initContainers": [{"name": "init"}]},
            None,
            ["may not use init containers"],
        ),
        (
            "presubmit",
            {
                "containers": _containers("a"),
                "initContainers": [{"name": "side", "restartPolicy": "Always"}],
            },
            None,
            [],
        ),
        (
            "presubmit",
            {"containers": [{"env": [{"name": "PULL_NUMBER"}, {"name": "X"}, {"name": "X"}]}]},
            None,
            ["env PULL_NUMBER is reserved", "env var named 'X' is defined more than once"],
        ),
        ("periodic", {"containers": [{"env": [{"name": "PULL_NUMBER"}]}]}, None, []),
        ("periodic", {"containers": [{"env": [{"name": "JOB_NAME"}]}]}, None, ["reserved"]),
        (
            "periodic",
            {"containers": [{}], "volumes": [{"name": "v"}, {"name": "v"}, {"name": "logs"}]},
            None,
            ["volume named 'v' is defined more than once", "volume logs is reserved"],
        ),
        (
            "periodic",
            {"containers": [{"volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]},
            None,
            ["volumeMount named 'nope' is undefined"],
        ),
        (
            "periodic",
            {
                "containers": [{"volumeMounts": [{"name": "v", "mountPath": "/logs"}]}],
                "volumes": [{"name": "v"}],
            },
            None,
            ["mount v at /logs conflicts with decoration mount"],
        ),
        (
            "periodic",
            {"containers": [{"volumeMounts": [{"name": "gcs-credentials", "mountPath": "/g"}]}]},
            None,
            [],  # a decoration volume may be mounted
        ),
    ],
)
def test_validate_pod_spec(
    job_type: str, spec: dict[str, Any] | None, decoration: Any, errors: list[str]
) -> None:
    """Cases after Go's TestValidatePodSpec and TestValidateMultipleContainers."""
    found = check_pod_spec(job_type, spec, decoration)
    assert len(found) == len(errors), found
    for message, expected in zip(found, errors, strict=True):
        assert expected in message


@pytest.mark.parametrize(
    ("decoration", "command", "error"),
    [
        (DECORATION, ["c"], None),
        (None, [], None),
        ({"gcs_configuration": GCS}, ["c"], "utility image config is not specified"),
        (
            {"utility_images": {"clonerefs": "c"}, "gcs_configuration": GCS},
            ["c"],
            "utility images are not specified: ['initupload', 'entrypoint', 'sidecar']",
        ),
        ({"utility_images": IMAGES}, ["c"], "GCS upload configuration is not specified"),
        (
            {"utility_images": IMAGES, "gcs_configuration": {"path_strategy": "legacy"}},
            ["c"],
            "default org and repo must be provided for GCS strategy 'legacy'",
        ),
        (
            {"utility_images": IMAGES, "gcs_configuration": {"path_strategy": "nope"}},
            ["c"],
            "gcs_path_strategy must be one of",
        ),
        (
            {**DECORATION, "oauth_token_secret": {"name": "o"}, "ssh_key_secrets": ["k"]},
            ["c"],
            "both OAuth token and SSH key secrets are specified",
        ),
        ({**DECORATION, "timeout": "soon"}, ["c"], 'timeout: time: invalid duration "soon"'),
        (DECORATION, [], "decorated job containers must specify command and/or args"),
        ({**DECORATION, "gcs_credentials_secret": ""}, ["c"], None),  # workload identity
    ],
)
def test_validate_decoration(decoration: Any, command: list[str], error: str | None) -> None:
    """Cases after Go's TestValidateDecoration and DecorationConfig.Validate."""
    found = check_decoration(decoration, [{"command": command}])
    if error is None:
        assert found == []
    else:
        (message,) = found
        assert error in message


def test_clone_uri_with_oauth_needs_http() -> None:
    oauth = {"oauth_token_secret": {"name": "o", "key": "k"}}
    assert check_clone_uri("https://github.com/o/r.git", oauth) == []
    assert check_clone_uri("git@github.com:o/r.git", None) == []
    (message,) = check_clone_uri("ssh://git@github.com/o/r.git", oauth)
    assert message == (
        "scheme must be http or https when OAuth secret is specified: github.com/o/r.git"
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (("", "6h", "6h", None), "cron, interval, and minimum_interval are mutually exclusive"),
        (("", "", "", None), "at least one of cron, interval, or minimum_interval must be set"),
        (
            ("hello", "", "", None),
            "invalid cron string hello in periodic a: expected 5 to 6 fields, found 1: [hello]",
        ),
        (("", "hello", "", None), 'cannot parse duration for a: time: invalid duration "hello"'),
        (
            ("", "6h", "", {"interval": "hello"}),
            'cannot parse Retry duration for a: time: invalid duration "hello"',
        ),
        (("", "", "hello", None), 'cannot parse duration for a: time: invalid duration "hello"'),
        (("", "10ns", "", None), None),
        (("", "6h", "", {"interval": "10ns"}), None),
        (("", "", "10ns", None), None),
        (("05 15 * * 1-5", "", "", None), None),
        (("0 05 15 * * 1-5", "", "", None), None),
        # Retry without an interval: Prow parses "" and refuses it
        (("", "6h", "", {"attempts": 3}), "cannot parse Retry duration for a: time: invalid"),
    ],
)
def test_validate_periodics(fields: tuple[Any, ...], error: str | None) -> None:
    """Go's TestValidatePeriodics (pkg/config/config_test.go), minus the duplicate-name case
    (covered by the loader tests)."""
    found = check_periodic_schedule("a", *fields)
    if error is None:
        assert found == []
    else:
        (message,) = found
        assert message.startswith(error)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("05 15 * * 1-5", None),
        ("0 05 15 * * 1-5", None),
        ("@daily", None),
        ("@every 1h30m", None),
        ("TZ=Europe/Berlin 0 5 * * *", None),
        ("CRON_TZ=UTC 0 5 * * *", None),
        ("0 5 * * MON-fri", None),
        ("0 5 1 jan,Feb *", None),
        ("*/15 * * * ?", None),
        ("5/15 * * * *", None),
        ("0 0 1,,15 * *", None),  # empty list items are skipped, as in Go's FieldsFunc
        ("hello", "expected 5 to 6 fields, found 1: [hello]"),
        ("* * * * * * *", "expected 5 to 6 fields, found 7"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("1/2/3 * * * *", "too many slashes: 1/2/3"),
        ("x * * * *", "failed to parse int from x"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("@every soon", "failed to parse duration @every soon"),
        ("TZ=Nowhere/City 0 5 * * *", "provided bad location Nowhere/City"),
        ("", "empty spec string"),
    ],
)
def test_cron_syntax_is_robfigs(spec: str, error: str | None) -> None:
    found = cron_error(spec)
    if error is None:
        assert found is None
    else:
        assert found is not None and found.startswith(error)


SPEC = "spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}"


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ("{name: p, cron: '61 * * * *', %s}", "invalid cron string 61 * * * * in periodic p"),
        ("{name: p, interval: 1h, labels: {created-by-prow: 'x'}, %s}", "label created-by-prow"),
        ("{name: p, interval: 1h, namespace: other, %s}", "namespace customization requires"),
        (
            "{name: p, interval: 1h, spec: {initContainers: [{name: i}], containers: [{}]}}",
            "pod spec may not use init containers",
        ),
    ],
)
def test_the_loader_refuses_what_prow_refuses(tmp_path: Path, job: str, message: str) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "j.yaml").write_text("periodics:\n- " + job.replace("%s", SPEC) + "\n")
    with pytest.raises(ConfigErrors) as info:
        ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load()
    (error,) = info.value.errors
    assert (error.path, error.job) == (str(tmp_path / "jobs" / "j.yaml"), "p")
    assert message in str(error)


@pytest.mark.parametrize(
    ("labels", "skip_report", "context", "error"),
    [
        ({}, False, "ctx", None),
        ({}, False, "", "job is set to report but has no context configured"),
        ({"prow.k8s.io/gerrit-report-label": "Verified"}, True, "ctx", "gerrit report label"),
        ({"prow.k8s.io/gerrit-report-label": "Verified"}, False, "ctx", None),
        ({"prow.k8s.io/gerrit-report-label": ""}, True, "ctx", None),
    ],
)
def test_validate_reporting(
    labels: dict[str, str], skip_report: bool, context: str, error: str | None
) -> None:
    """After Go's TestValidateReportingWithGerritLabel (pkg/config/config_test.go)."""
    found = check_reporting(labels, skip_report, context)
    assert (found == []) is (error is None)
    if error is not None:
        assert found[0].startswith(error)
