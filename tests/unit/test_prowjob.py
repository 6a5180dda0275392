"""ProwJob building: whole objects compared against what Prow's NewProwJob produces."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest

from prow_graphql.errors import InvalidInput, PullRequestRequired
from prow_graphql.prow.jobs import Periodic, Postsubmit, Presubmit
from prow_graphql.prow.objects import ProwJobType, Pull, Refs
from prow_graphql.prow.prowjob import (
    build_prowjob,
    new_refs,
    sanitise_label_value,
    truncate_label_value,
)

NOW = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
NAME = "3f1c7e0a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
BASE_SHA = "0123456789abcdef0123456789abcdef01234567"
HEAD_SHA = "89abcdef0123456789abcdef0123456789abcdef"
GITHUB = "https://github.com"


def decoration() -> dict[str, Any]:
    return {
        "timeout": "3h",
        "blobless_fetch": True,
        "sparse_checkout_files": ["Makefile", "pkg/"],
        "gcs_configuration": {"bucket": "kubevirt-prow", "path_strategy": "explicit"},
    }


def pod_spec() -> dict[str, Any]:
    return {
        "containers": [
            {
                "image": "quay.io/kubevirtci/golang:v1",
                "command": ["make"],
                "args": ["test"],
                "env": [{"name": "GIMME_GO_VERSION", "value": "1.22"}],
            }
        ]
    }


def presubmit(**overrides: Any) -> Presubmit:
    fields: dict[str, Any] = {
        "name": "pull-kubevirt-unit-test",
        "source_path": "kubevirt/kubevirt-presubmits.yaml",
        "labels": {"preset-bazel-cache": "true"},
        "annotations": {"testgrid-dashboards": "kubevirt-presubmits"},
        "cluster": "kubevirt-prow-workloads",
        "namespace": "test-pods",
        "max_concurrency": 6,
        "decorate": True,
        "decoration_config": decoration(),
        "spec": pod_spec(),
        "rerun_auth_config": {"github_orgs": ["kubevirt"]},
        "prowjob_defaults": {"tenant_id": "GlobalDefaultID"},
        "org_repo": "kubevirt/kubevirt",
        "always_run": True,
        "trigger": r"(?m)^/test( | .* )pull-kubevirt-unit-test,?($|\s.*)",
        "rerun_command": "/test pull-kubevirt-unit-test",
        "context": "pull-kubevirt-unit-test",
    }
    fields.update(overrides)
    return Presubmit(**fields)


def postsubmit(**overrides: Any) -> Postsubmit:
    fields: dict[str, Any] = {
        "name": "push-kubevirt-main",
        "source_path": "kubevirt/kubevirt-postsubmits.yaml",
        "namespace": "test-pods",
        "spec": pod_spec(),
        "org_repo": "kubevirt/kubevirt",
        "context": "push-kubevirt-main",
        "path_alias": "kubevirt.io/kubevirt",
        "clone_uri": "https://mirror.example/kubevirt/kubevirt.git",
        "clone_depth": 50,
        "skip_submodules": True,
        "skip_fetch_head": True,
    }
    fields.update(overrides)
    return Postsubmit(**fields)


def periodic(**overrides: Any) -> Periodic:
    fields: dict[str, Any] = {
        "name": "periodic-kubevirt-nightly",
        "source_path": "kubevirt/kubevirt-periodics.yaml",
        "namespace": "test-pods",
        "decorate": True,
        "decoration_config": {"blobless_fetch": False},
        "spec": pod_spec(),
        "cron": "0 2 * * *",
        "extra_refs": (
            {"org": "kubevirt", "repo": "project-infra", "base_ref": "main", "workdir": True},
            {"org": "kubevirt", "repo": "kubevirtci", "base_ref": "main", "blobless_fetch": True},
        ),
        "reporter_config": {"slack": {"channel": "kubevirt-ci"}},
    }
    fields.update(overrides)
    return Periodic(**fields)


def pr_refs(**pull: Any) -> Refs:
    fields: dict[str, Any] = {
        "number": 1234,
        "author": "alice",
        "sha": HEAD_SHA,
        "title": "Fix the thing",
        "head_ref": "fix-thing",
    }
    fields.update(pull)
    return new_refs(GITHUB, "kubevirt", "kubevirt", "main", base_sha=BASE_SHA, pull=Pull(**fields))


def build(job: Any, run_as: ProwJobType, refs: Refs | None, **options: Any) -> dict[str, Any]:
    options.setdefault("scheduler_enabled", False)
    options.setdefault("now", NOW)
    options.setdefault("name", NAME)
    return build_prowjob(job, run_as=run_as, refs=refs, **options)


EXPECTED_POD_SPEC = {
    "containers": [
        {
            "name": "",
            "image": "quay.io/kubevirtci/golang:v1",
            "command": ["make"],
            "args": ["test"],
            "env": [{"name": "GIMME_GO_VERSION", "value": "1.22"}],
        }
    ]
}


# --- whole objects --------------------------------------------------------------------------


def test_presubmit_with_pull_request() -> None:
    assert build(presubmit(), ProwJobType.PRESUBMIT, pr_refs()) == {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": NAME,
            "labels": {
                "created-by-prow": "true",
                "prow.k8s.io/type": "presubmit",
                "prow.k8s.io/job": "pull-kubevirt-unit-test",
                "prow.k8s.io/context": "pull-kubevirt-unit-test",
                "prow.k8s.io/refs.org": "kubevirt",
                "prow.k8s.io/refs.repo": "kubevirt",
                "prow.k8s.io/refs.base_ref": "main",
                "prow.k8s.io/refs.pull": "1234",
                "preset-bazel-cache": "true",
                "prow.k8s.io/is-optional": "false",  # trigger plugin (§8.6)
            },
            "annotations": {
                "prow.k8s.io/job": "pull-kubevirt-unit-test",
                "prow.k8s.io/context": "pull-kubevirt-unit-test",
                "testgrid-dashboards": "kubevirt-presubmits",
            },
        },
        "spec": {
            "type": "presubmit",
            "agent": "kubernetes",
            "cluster": "kubevirt-prow-workloads",
            "namespace": "test-pods",
            "job": "pull-kubevirt-unit-test",
            "refs": {
                "org": "kubevirt",
                "repo": "kubevirt",
                "repo_link": "https://github.com/kubevirt/kubevirt",
                "base_ref": "main",
                "base_sha": BASE_SHA,
                "base_link": f"https://github.com/kubevirt/kubevirt/commit/{BASE_SHA}",
                "pulls": [
                    {
                        "number": 1234,
                        "author": "alice",
                        "sha": HEAD_SHA,
                        "title": "Fix the thing",
                        "head_ref": "fix-thing",
                        "link": "https://github.com/kubevirt/kubevirt/pull/1234",
                        "commit_link": (
                            f"https://github.com/kubevirt/kubevirt/pull/1234/commits/{HEAD_SHA}"
                        ),
                        "author_link": "https://github.com/alice",
                    }
                ],
                "blobless_fetch": True,
                "sparse_checkout_files": ["Makefile", "pkg/"],
            },
            "report": True,
            "context": "pull-kubevirt-unit-test",
            "rerun_command": "/test pull-kubevirt-unit-test",
            "max_concurrency": 6,
            "pod_spec": EXPECTED_POD_SPEC,
            "decoration_config": {
                "timeout": "3h",
                "blobless_fetch": True,
                "sparse_checkout_files": ["Makefile", "pkg/"],
                "gcs_configuration": {"bucket": "kubevirt-prow", "path_strategy": "explicit"},
            },
            "rerun_auth_config": {"github_orgs": ["kubevirt"]},
            "prowjob_defaults": {"tenant_id": "GlobalDefaultID"},
        },
        "status": {"startTime": "2026-03-04T05:06:07Z", "state": "triggered"},
    }


def test_postsubmit() -> None:
    refs = new_refs(GITHUB, "kubevirt", "kubevirt", "release-1.2", base_sha=BASE_SHA)
    assert build(postsubmit(), ProwJobType.POSTSUBMIT, refs) == {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": NAME,
            "labels": {
                "created-by-prow": "true",
                "prow.k8s.io/type": "postsubmit",
                "prow.k8s.io/job": "push-kubevirt-main",
                "prow.k8s.io/context": "push-kubevirt-main",
                "prow.k8s.io/refs.org": "kubevirt",
                "prow.k8s.io/refs.repo": "kubevirt",
                "prow.k8s.io/refs.base_ref": "release-1.2",
            },
            "annotations": {
                "prow.k8s.io/job": "push-kubevirt-main",
                "prow.k8s.io/context": "push-kubevirt-main",
            },
        },
        "spec": {
            "type": "postsubmit",
            "agent": "kubernetes",
            "cluster": "default",
            "namespace": "test-pods",
            "job": "push-kubevirt-main",
            "refs": {
                "org": "kubevirt",
                "repo": "kubevirt",
                "repo_link": "https://github.com/kubevirt/kubevirt",
                "base_ref": "release-1.2",
                "base_sha": BASE_SHA,
                "base_link": f"https://github.com/kubevirt/kubevirt/commit/{BASE_SHA}",
                "path_alias": "kubevirt.io/kubevirt",
                "clone_uri": "https://mirror.example/kubevirt/kubevirt.git",
                "skip_submodules": True,
                "clone_depth": 50,
                "skip_fetch_head": True,
            },
            "report": True,
            "context": "push-kubevirt-main",
            "pod_spec": EXPECTED_POD_SPEC,
        },
        "status": {"startTime": "2026-03-04T05:06:07Z", "state": "triggered"},
    }


def test_presubmit_run_as_postsubmit() -> None:
    refs = new_refs(GITHUB, "kubevirt", "kubevirt", "main")
    job = presubmit(decorate=False, decoration_config=None, skip_report=True)
    assert build(job, ProwJobType.POSTSUBMIT, refs, author="bob") == {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": NAME,
            "labels": {
                "created-by-prow": "true",
                "prow.k8s.io/type": "postsubmit",
                "prow.k8s.io/job": "pull-kubevirt-unit-test",
                "prow.k8s.io/context": "pull-kubevirt-unit-test",
                "prow.k8s.io/refs.org": "kubevirt",
                "prow.k8s.io/refs.repo": "kubevirt",
                "prow.k8s.io/refs.base_ref": "main",
                "preset-bazel-cache": "true",
            },
            "annotations": {
                "prow.k8s.io/job": "pull-kubevirt-unit-test",
                "prow.k8s.io/context": "pull-kubevirt-unit-test",
                "testgrid-dashboards": "kubevirt-presubmits",
                "prow-graphql.prow.k8s.io/triggered-by": "bob",
            },
        },
        "spec": {
            "type": "postsubmit",
            "agent": "kubernetes",
            "cluster": "kubevirt-prow-workloads",
            "namespace": "test-pods",
            "job": "pull-kubevirt-unit-test",
            "refs": {
                "org": "kubevirt",
                "repo": "kubevirt",
                "repo_link": "https://github.com/kubevirt/kubevirt",
                "base_ref": "main",
            },
            # skip_report: true → report false, which Go's omitempty leaves out
            "context": "pull-kubevirt-unit-test",
            "max_concurrency": 6,
            "pod_spec": {
                "containers": [
                    {
                        "name": "",
                        "image": "quay.io/kubevirtci/golang:v1",
                        "command": ["make"],
                        "args": ["test"],
                        "env": [
                            {"name": "GIMME_GO_VERSION", "value": "1.22"},
                            {"name": "AUTHOR", "value": "bob"},
                        ],
                    }
                ]
            },
            "rerun_auth_config": {"github_orgs": ["kubevirt"]},
            "prowjob_defaults": {"tenant_id": "GlobalDefaultID"},
        },
        "status": {"startTime": "2026-03-04T05:06:07Z", "state": "triggered"},
    }


def test_periodic_with_extra_refs() -> None:
    assert build(periodic(), ProwJobType.PERIODIC, None) == {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": NAME,
            "labels": {
                "created-by-prow": "true",
                "prow.k8s.io/type": "periodic",
                "prow.k8s.io/job": "periodic-kubevirt-nightly",
                "prow.k8s.io/context": "",
                "prow.k8s.io/refs.org": "kubevirt",
                "prow.k8s.io/refs.repo": "project-infra",
                "prow.k8s.io/refs.base_ref": "main",
            },
            "annotations": {
                "prow.k8s.io/job": "periodic-kubevirt-nightly",
                "prow.k8s.io/context": "",
            },
        },
        "spec": {
            "type": "periodic",
            "agent": "kubernetes",
            "cluster": "default",
            "namespace": "test-pods",
            "job": "periodic-kubevirt-nightly",
            "extra_refs": [
                {
                    "org": "kubevirt",
                    "repo": "project-infra",
                    "base_ref": "main",
                    "workdir": True,
                    "blobless_fetch": False,
                },
                {
                    "org": "kubevirt",
                    "repo": "kubevirtci",
                    "base_ref": "main",
                    "blobless_fetch": True,
                },
            ],
            "report": True,
            "pod_spec": EXPECTED_POD_SPEC,
            "decoration_config": {"blobless_fetch": False},
            "reporter_config": {"slack": {"channel": "kubevirt-ci", "report": True}},
        },
        "status": {"startTime": "2026-03-04T05:06:07Z", "state": "triggered"},
    }


def test_presubmit_as_batch() -> None:
    job = presubmit(decorate=False, decoration_config=None, labels={}, annotations={})
    pj = build(job, ProwJobType.BATCH, pr_refs())
    assert pj["metadata"]["labels"]["prow.k8s.io/type"] == "batch"
    assert "report" not in pj["spec"]
    assert "rerun_command" not in pj["spec"]
    assert pj["spec"]["type"] == "batch"
    assert pj["spec"]["context"] == "pull-kubevirt-unit-test"


# --- labels and annotations -----------------------------------------------------------------

LONG_NAME = "periodic-kubevirt-e2e-k8s-1.31-sig-compute-migrations-nonroot-long-xyz"


def test_long_job_name_truncated_label_full_annotation() -> None:
    assert len(LONG_NAME) == 70
    pj = build(periodic(name=LONG_NAME, extra_refs=()), ProwJobType.PERIODIC, None)
    assert pj["metadata"]["labels"] == {
        "created-by-prow": "true",
        "prow.k8s.io/type": "periodic",
        "prow.k8s.io/job": "periodic-kubevirt-e2e-k8s-1.31-sig-compute-migrations-nonroot-l",
        "prow.k8s.io/context": "",
    }
    assert pj["metadata"]["annotations"] == {
        "prow.k8s.io/job": LONG_NAME,
        "prow.k8s.io/context": "",
    }
    assert pj["spec"]["job"] == LONG_NAME


def test_truncation_strips_trailing_separators() -> None:
    name = "a" * 60 + "-._" + "tail-of-the-name"
    context = "b" * 61 + "_." + "more"
    pj = build(presubmit(name=name, context=context), ProwJobType.PRESUBMIT, pr_refs())
    assert pj["metadata"]["labels"]["prow.k8s.io/job"] == "a" * 60
    assert pj["metadata"]["labels"]["prow.k8s.io/context"] == "b" * 61
    assert pj["metadata"]["annotations"]["prow.k8s.io/job"] == name
    assert pj["metadata"]["annotations"]["prow.k8s.io/context"] == context


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x" * 63, "x" * 63),
        ("x" * 64, "x" * 63),
        ("x" * 62 + "-y", "x" * 62),  # cut to "x"*62 + "-", then the "-" is stripped
        ("x" * 61 + "-.-z", "x" * 61),
        ("x" * 61 + "_y-", "x" * 61 + "_y"),
        ("short-", "short-"),  # not longer than 63: left alone (sanitising drops it later)
    ],
)
def test_truncate_label_value(value: str, expected: str) -> None:
    assert truncate_label_value(value) == expected


def test_context_with_slashes_becomes_basename() -> None:
    pj = build(presubmit(context="ci/prow/unit"), ProwJobType.PRESUBMIT, pr_refs())
    assert pj["metadata"]["labels"]["prow.k8s.io/context"] == "unit"
    assert pj["metadata"]["annotations"]["prow.k8s.io/context"] == "ci/prow/unit"
    assert pj["spec"]["context"] == "ci/prow/unit"


def test_invalid_label_value_is_dropped() -> None:
    job = presubmit(context="ci/prow/unit tests", labels={"team": "sig compute!"})
    pj = build(job, ProwJobType.PRESUBMIT, pr_refs(), extra_labels={"origin": "https://gh/x"})
    labels = pj["metadata"]["labels"]
    assert "prow.k8s.io/context" not in labels
    assert "team" not in labels
    assert labels["origin"] == "x"
    assert pj["metadata"]["annotations"]["prow.k8s.io/context"] == "ci/prow/unit tests"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("unit", "unit"),
        ("", ""),
        ("ci/prow/unit", "unit"),
        ("https://gerrit.example.com", "gerrit.example.com"),
        ("dir/", "dir"),
        ("a b", None),
        ("ci/prow/-bad", None),
        ("///", None),
        ("x" * 64, None),
    ],
)
def test_sanitise_label_value(value: str, expected: str | None) -> None:
    assert sanitise_label_value(value) == expected


def test_extra_labels_and_annotations_win_over_job_and_prow() -> None:
    pj = build(
        presubmit(),
        ProwJobType.PRESUBMIT,
        pr_refs(),
        extra_labels={"preset-bazel-cache": "false", "prow.k8s.io/context": "override"},
        extra_annotations={"testgrid-dashboards": "mine", "prow.k8s.io/job": "annotated"},
    )
    assert pj["metadata"]["labels"]["preset-bazel-cache"] == "false"
    assert pj["metadata"]["labels"]["prow.k8s.io/context"] == "override"
    assert pj["metadata"]["annotations"] == {
        "prow.k8s.io/job": "annotated",
        "prow.k8s.io/context": "pull-kubevirt-unit-test",
        "testgrid-dashboards": "mine",
    }


def test_author_annotation_wins_over_extra_annotations() -> None:
    pj = build(
        presubmit(),
        ProwJobType.PRESUBMIT,
        pr_refs(),
        author="bob",
        extra_annotations={"prow-graphql.prow.k8s.io/triggered-by": "mallory"},
    )
    assert pj["metadata"]["annotations"]["prow-graphql.prow.k8s.io/triggered-by"] == "bob"


# --- status, name, time ---------------------------------------------------------------------


def test_scheduling_state_when_scheduler_enabled() -> None:
    pj = build(presubmit(), ProwJobType.PRESUBMIT, pr_refs(), scheduler_enabled=True)
    assert pj["status"] == {"startTime": "2026-03-04T05:06:07Z", "state": "scheduling"}


def test_default_name_is_a_random_uuid() -> None:
    first = build_prowjob(
        periodic(), run_as=ProwJobType.PERIODIC, refs=None, scheduler_enabled=False, now=NOW
    )
    second = build_prowjob(
        periodic(), run_as=ProwJobType.PERIODIC, refs=None, scheduler_enabled=False, now=NOW
    )
    name = first["metadata"]["name"]
    assert str(uuid.UUID(name)) == name
    assert uuid.UUID(name).version == 4
    assert name != second["metadata"]["name"]
    assert "namespace" not in first["metadata"]


def test_start_time_is_utc_second_precision() -> None:
    plus_two = timezone(timedelta(hours=2))
    pj = build(
        periodic(), ProwJobType.PERIODIC, None, now=datetime(2026, 1, 1, 1, 0, 0, 999, plus_two)
    )
    assert pj["status"]["startTime"] == "2025-12-31T23:00:00Z"
    naive = build(periodic(), ProwJobType.PERIODIC, None, now=datetime(2026, 1, 1, 1, 2, 3))
    assert naive["status"]["startTime"] == "2026-01-01T01:02:03Z"


# --- env and AUTHOR -------------------------------------------------------------------------


def two_container_spec() -> dict[str, Any]:
    return {
        "initContainers": [{"name": "init", "image": "busybox"}],
        "containers": [
            {"name": "test", "image": "a", "env": [{"name": "AUTHOR", "value": "old"}]},
            {"name": "sidecar", "image": "b"},
        ],
    }


def test_author_updated_and_appended_in_every_regular_container() -> None:
    job = presubmit(spec=two_container_spec())
    pj = build(job, ProwJobType.PRESUBMIT, pr_refs(), author="carol")
    assert pj["spec"]["pod_spec"] == {
        "initContainers": [{"name": "init", "image": "busybox"}],
        "containers": [
            {"name": "test", "image": "a", "env": [{"name": "AUTHOR", "value": "carol"}]},
            {"name": "sidecar", "image": "b", "env": [{"name": "AUTHOR", "value": "carol"}]},
        ],
    }
    assert pj["metadata"]["annotations"]["prow-graphql.prow.k8s.io/triggered-by"] == "carol"


def test_author_replaces_value_from() -> None:
    spec = {
        "containers": [
            {
                "name": "test",
                "env": [
                    {"name": "X", "value": "1"},
                    {"name": "AUTHOR", "valueFrom": {"fieldRef": {"fieldPath": "x"}}},
                ],
            }
        ]
    }
    pj = build(presubmit(spec=spec), ProwJobType.PRESUBMIT, pr_refs(), author="dave")
    assert pj["spec"]["pod_spec"]["containers"][0]["env"] == [
        {"name": "X", "value": "1"},
        {"name": "AUTHOR", "value": "dave"},
    ]


def test_env_overrides_update_or_append_and_author_wins() -> None:
    spec = {
        "containers": [
            {"name": "test", "env": [{"name": "GO", "value": "1.21"}, {"name": "K", "value": "v"}]},
            {"name": "other"},
        ]
    }
    pj = build(
        presubmit(spec=spec),
        ProwJobType.PRESUBMIT,
        pr_refs(),
        author="erin",
        env={"GO": "1.22", "NEW": "yes", "AUTHOR": "spoofed"},
    )
    assert pj["spec"]["pod_spec"]["containers"] == [
        {
            "name": "test",
            "env": [
                {"name": "GO", "value": "1.22"},
                {"name": "K", "value": "v"},
                {"name": "NEW", "value": "yes"},
                {"name": "AUTHOR", "value": "erin"},
            ],
        },
        {
            "name": "other",
            "env": [
                {"name": "GO", "value": "1.22"},
                {"name": "NEW", "value": "yes"},
                {"name": "AUTHOR", "value": "erin"},
            ],
        },
    ]


def test_no_author_leaves_env_and_annotations_alone() -> None:
    pj = build(presubmit(), ProwJobType.PRESUBMIT, pr_refs())
    assert pj["spec"]["pod_spec"] == EXPECTED_POD_SPEC
    assert "prow-graphql.prow.k8s.io/triggered-by" not in pj["metadata"]["annotations"]


def test_job_without_pod_spec_ignores_env() -> None:
    job = presubmit(agent="jenkins", spec=None, decorate=False, decoration_config=None)
    pj = build(job, ProwJobType.PRESUBMIT, pr_refs(), author="x", env={"A": "b"})
    assert "pod_spec" not in pj["spec"]
    assert pj["spec"]["agent"] == "jenkins"


# --- the job is never mutated ---------------------------------------------------------------


def test_job_is_not_mutated() -> None:
    job = presubmit(spec=two_container_spec(), reporter_config={"slack": {"channel": "c"}})
    before = copy.deepcopy(job)
    pj = build(job, ProwJobType.PRESUBMIT, pr_refs(), author="x", env={"A": "b"})
    assert job == before
    assert job.spec == two_container_spec()
    assert job.reporter_config == {"slack": {"channel": "c"}}
    pj["spec"]["pod_spec"]["containers"][0]["image"] = "changed"
    pj["spec"]["decoration_config"]["gcs_configuration"]["bucket"] = "changed"
    assert job == before


def test_read_only_job_mappings_are_copied() -> None:
    spec = MappingProxyType({"containers": (MappingProxyType({"name": "t", "env": ()}),)})
    job = presubmit(spec=spec, decorate=False, decoration_config=None)
    pj = build(job, ProwJobType.PRESUBMIT, pr_refs(), author="x")
    assert pj["spec"]["pod_spec"] == {
        "containers": [{"name": "t", "env": [{"name": "AUTHOR", "value": "x"}]}]
    }
    assert dict(spec["containers"][0]) == {"name": "t", "env": ()}


# --- reporter and jenkins -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slack", "expected"),
    [
        ({"channel": "c"}, {"channel": "c", "report": True}),
        ({"channel": "c", "job_states_to_report": []}, {"channel": "c", "report": False}),
        (
            {"channel": "c", "job_states_to_report": ["failure"]},
            {"channel": "c", "job_states_to_report": ["failure"], "report": True},
        ),
        (
            {"channel": "c", "job_states_to_report": [], "report": True},
            {"channel": "c", "job_states_to_report": [], "report": True},
        ),
        ({"channel": "c", "report": False}, {"channel": "c", "report": False}),
    ],
)
def test_slack_report_default(slack: dict[str, Any], expected: dict[str, Any]) -> None:
    pj = build(periodic(reporter_config={"slack": slack}), ProwJobType.PERIODIC, None)
    assert pj["spec"]["reporter_config"] == {"slack": expected}


def test_jenkins_spec_copied_for_presubmit() -> None:
    job = presubmit(jenkins_spec={"github_branch_source_job": True, "other": 1})
    pj = build(job, ProwJobType.PRESUBMIT, pr_refs())
    assert pj["spec"]["jenkins_spec"] == {"github_branch_source_job": True}


# --- refs -----------------------------------------------------------------------------------


def test_new_refs_uses_configured_link_url() -> None:
    refs = new_refs(
        "https://ghe.example.com/",
        "team",
        "svc",
        "develop",
        base_sha=BASE_SHA,
        pull=Pull(number=7, author="zed", sha=HEAD_SHA, link="https://evil.example/"),
    )
    assert refs == Refs(
        org="team",
        repo="svc",
        repo_link="https://ghe.example.com/team/svc",
        base_ref="develop",
        base_sha=BASE_SHA,
        base_link=f"https://ghe.example.com/team/svc/commit/{BASE_SHA}",
        pulls=(
            Pull(
                number=7,
                author="zed",
                sha=HEAD_SHA,
                link="https://ghe.example.com/team/svc/pull/7",
                commit_link=f"https://ghe.example.com/team/svc/pull/7/commits/{HEAD_SHA}",
                author_link="https://ghe.example.com/zed",
            ),
        ),
    )


def test_new_refs_without_shas_or_author() -> None:
    refs = new_refs(GITHUB, "kubevirt", "kubevirt", "main", pull=Pull(number=9))
    assert refs == Refs(
        org="kubevirt",
        repo="kubevirt",
        repo_link="https://github.com/kubevirt/kubevirt",
        base_ref="main",
        pulls=(Pull(number=9, link="https://github.com/kubevirt/kubevirt/pull/9"),),
    )


# --- errors ---------------------------------------------------------------------------------


def test_presubmit_without_pull_request_is_refused() -> None:
    refs = new_refs(GITHUB, "kubevirt", "kubevirt", "main")
    with pytest.raises(PullRequestRequired, match=r"pullRequest\.number"):
        build(presubmit(), ProwJobType.PRESUBMIT, refs)
    with pytest.raises(PullRequestRequired, match=r"pullRequest\.number"):
        build(presubmit(), ProwJobType.PRESUBMIT, None)


@pytest.mark.parametrize(
    ("job", "run_as", "refs"),
    [
        (postsubmit(), ProwJobType.PRESUBMIT, Refs(org="kubevirt", repo="kubevirt", base_ref="m")),
        (postsubmit(), ProwJobType.PERIODIC, None),
        (periodic(), ProwJobType.PRESUBMIT, None),
        (periodic(), ProwJobType.POSTSUBMIT, None),
        (presubmit(), ProwJobType.PERIODIC, None),
    ],
)
def test_wrong_run_as_type_is_refused(job: Any, run_as: ProwJobType, refs: Refs | None) -> None:
    with pytest.raises(InvalidInput) as info:
        build(job, run_as, refs)
    assert info.value.field == "type"


def test_periodic_with_refs_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        build(periodic(), ProwJobType.PERIODIC, Refs(org="kubevirt", repo="kubevirt"))
    assert info.value.field == "refs"


def test_postsubmit_without_refs_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        build(postsubmit(), ProwJobType.POSTSUBMIT, None)
    assert info.value.field == "refs"


def test_refs_for_another_repo_are_refused() -> None:
    refs = new_refs(GITHUB, "kubevirt", "containerized-data-importer", "main")
    with pytest.raises(InvalidInput, match="configured for kubevirt/kubevirt") as info:
        build(postsubmit(), ProwJobType.POSTSUBMIT, refs)
    assert info.value.field == "repo"


@pytest.mark.parametrize(
    ("org", "repo", "base_ref", "base_sha", "pull", "field"),
    [
        ("", "r", "main", "", None, "org"),
        ("bad org", "r", "main", "", None, "org"),
        ("o", "", "main", "", None, "repo"),
        ("o", "../etc", "main", "", None, "repo"),
        ("o", "r?x", "main", "", None, "repo"),
        ("o", "r", "", "", None, "baseRef"),
        ("o", "r", "feature..x", "", None, "baseRef"),
        ("o", "r", "main branch", "", None, "baseRef"),
        ("o", "r", "-main", "", None, "baseRef"),
        ("o", "r", "main.lock", "", None, "baseRef"),
        ("o", "r", "main", "ABC", None, "baseSha"),
        ("o", "r", "main", BASE_SHA.upper(), None, "baseSha"),
        ("o", "r", "main", "", Pull(number=0), "pullRequest.number"),
        ("o", "r", "main", "", Pull(number=-3), "pullRequest.number"),
        ("o", "r", "main", "", Pull(number=1, sha="deadbeef"), "pullRequest.sha"),
        ("o", "r", "main", "", Pull(number=1, sha=HEAD_SHA + "0"), "pullRequest.sha"),
        ("o", "r", "main", "", Pull(number=1, author="a/b"), "pullRequest.author"),
    ],
)
def test_bad_refs_name_the_field(
    org: str, repo: str, base_ref: str, base_sha: str, pull: Pull | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        new_refs(GITHUB, org, repo, base_ref, base_sha=base_sha, pull=pull)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("org", "repo", "base_ref"),
    [
        ("kubevirt", "kubevirt", "release-1.2"),
        ("https://gerrit.example.com", "platform/build", "refs/heads/main"),
        ("k8s.io", "test-infra", "feature/x_y"),
    ],
)
def test_good_refs_pass(org: str, repo: str, base_ref: str) -> None:
    assert new_refs(GITHUB, org, repo, base_ref, pull=Pull(number=1, author="bot[bot]")).org == org


def test_hand_built_refs_are_validated_too() -> None:
    refs = Refs(org="kubevirt", repo="kubevirt", base_ref="main", pulls=(Pull(number=0),))
    with pytest.raises(InvalidInput) as info:
        build(presubmit(), ProwJobType.PRESUBMIT, refs)
    assert info.value.field == "pullRequest.number"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"env": {"1BAD": "x"}}, "env"),
        ({"env": {"A=B": "x"}}, "env"),
        ({"author": ""}, "author"),
        ({"author": "bad\nname"}, "author"),
        ({"author": "x" * 257}, "author"),
        ({"extra_labels": {"bad key!": "v"}}, "labels"),
        ({"extra_labels": {"Example.COM/x": "v"}}, "labels"),
        ({"extra_annotations": {"x" * 64: "v"}}, "annotations"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        build(presubmit(), ProwJobType.PRESUBMIT, pr_refs(), **options)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("optional", "job_label", "expected"),
    [(True, None, "true"), (False, None, "false"), (True, "false", "true")],
)
def test_presubmit_prowjobs_carry_is_optional_as_the_trigger_plugin_sets_it(
    optional: bool, job_label: str | None, expected: str
) -> None:
    labels = {"preset-bazel-cache": "true"}
    if job_label is not None:
        labels["prow.k8s.io/is-optional"] = job_label  # the plugin's value wins
    job = presubmit(optional=optional, labels=labels)
    built = build(job, ProwJobType.PRESUBMIT, pr_refs())
    assert built["metadata"]["labels"]["prow.k8s.io/is-optional"] == expected
    as_postsubmit = build(job, ProwJobType.POSTSUBMIT, pr_refs())
    assert as_postsubmit["metadata"]["labels"].get("prow.k8s.io/is-optional") == job_label


def test_blobless_fetch_false_from_decoration_is_written_into_refs() -> None:
    """§8.8: Refs.BloblessFetch is a *bool, so DecorateRefs writes false too."""
    job = presubmit(decoration_config={**decoration(), "blobless_fetch": False})
    refs = build(job, ProwJobType.PRESUBMIT, pr_refs())["spec"]["refs"]
    assert refs["blobless_fetch"] is False
    unset = {k: v for k, v in decoration().items() if k != "blobless_fetch"}
    refs = build(presubmit(decoration_config=unset), ProwJobType.PRESUBMIT, pr_refs())
    assert "blobless_fetch" not in refs["spec"]["refs"]
