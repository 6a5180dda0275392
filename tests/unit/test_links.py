"""Deck links and the URL-prefix variant of Prow's status.url (pjutil.JobURL)."""

from __future__ import annotations

from typing import Any

import pytest

from prow_graphql.prow.config import PlankConfig
from prow_graphql.prow.links import deck_url_default, job_url, job_url_prefix, log_link, status_link

BUILD = "1247344427123347459"
PLANK = PlankConfig(job_url_prefix_config={"*": "https://prow.k8s.io/view/"})


def gcs(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bucket": "kubernetes-jenkins",
        "path_strategy": "explicit",
    }
    config.update(overrides)
    return config


def prowjob(
    kind: str, job: str = "the-job", *, gcs_config: Any = None, **spec: Any
) -> dict[str, Any]:
    """A minimal decorated ProwJob of type `kind` for org/repo, PR 541 for presubmits."""
    body: dict[str, Any] = {"type": kind, "job": job}
    if kind in ("presubmit", "postsubmit", "batch"):
        refs: dict[str, Any] = {"org": "org", "repo": "repo", "base_ref": "main"}
        if kind != "postsubmit":
            refs["pulls"] = [{"number": 541, "author": "a", "sha": "s"}]
        body["refs"] = refs
    body["decoration_config"] = {"gcs_configuration": gcs() if gcs_config is None else gcs_config}
    body.update(spec)
    return {"metadata": {"name": "x"}, "spec": body}


# --- Deck links -----------------------------------------------------------------------------


def test_status_link() -> None:
    assert (
        status_link("https://prow.example.com", "0a1b2c3d-aaaa-4bbb-8ccc-0123456789ab")
        == "https://prow.example.com/prowjob?prowjob=0a1b2c3d-aaaa-4bbb-8ccc-0123456789ab"
    )


def test_status_link_strips_trailing_slash_and_encodes() -> None:
    assert status_link("https://deck/", "a b&c") == "https://deck/prowjob?prowjob=a+b%26c"


def test_log_link() -> None:
    assert (
        log_link("https://prow.example.com", "pull-kubevirt-unit-test", BUILD)
        == "https://prow.example.com/log?job=pull-kubevirt-unit-test&id=1247344427123347459"
    )


def test_log_link_encodes_both_values() -> None:
    assert log_link("https://deck/", "job/with space", "1&2=3") == (
        "https://deck/log?job=job%2Fwith+space&id=1%262%3D3"
    )


@pytest.mark.parametrize(
    ("prefixes", "expected"),
    [
        ({"*": "https://prow.k8s.io/view/"}, "https://prow.k8s.io"),
        ({"*": "http://deck.local:8080/view/gs/"}, "http://deck.local:8080"),
        ({"*": "https://user@prow.example/view/"}, "https://prow.example"),
        ({"org": "https://prow.example/view/"}, None),
        ({"*": "/view/"}, None),
        ({}, None),
    ],
)
def test_deck_url_default(prefixes: dict[str, str], expected: str | None) -> None:
    assert deck_url_default(PlankConfig(job_url_prefix_config=prefixes)) == expected


# --- job_url: path per type and strategy ----------------------------------------------------


def test_job_url_presubmit_explicit_matches_prows_example() -> None:
    pj = prowjob("presubmit", "pull-cluster-api-provider-openstack-test")
    pj["spec"]["refs"]["org"] = "kubernetes-sigs"
    pj["spec"]["refs"]["repo"] = "cluster-api-provider-openstack"
    assert job_url(pj, BUILD, PLANK) == (
        "https://prow.k8s.io/view/gs/kubernetes-jenkins/pr-logs/pull/"
        "kubernetes-sigs_cluster-api-provider-openstack/541/"
        "pull-cluster-api-provider-openstack-test/1247344427123347459"
    )


@pytest.mark.parametrize(
    ("strategy", "default_org", "default_repo", "segment"),
    [
        ("explicit", "org", "repo", "org_repo/"),
        ("legacy", "org", "repo", ""),
        ("legacy", "org", "other", "repo/"),
        ("legacy", "other", "repo", "org_repo/"),
        ("single", "org", "repo", ""),
        ("single", "org", "other", "org_repo/"),
        ("single", "other", "repo", "org_repo/"),
    ],
)
def test_job_url_presubmit_path_strategies(
    strategy: str, default_org: str, default_repo: str, segment: str
) -> None:
    config = gcs(path_strategy=strategy, default_org=default_org, default_repo=default_repo)
    pj = prowjob("presubmit", gcs_config=config)
    assert job_url(pj, BUILD, PLANK) == (
        f"https://prow.k8s.io/view/gs/kubernetes-jenkins/pr-logs/pull/{segment}541/the-job/{BUILD}"
    )


def test_job_url_presubmit_gerrit_org_and_nested_repo() -> None:
    pj = prowjob("presubmit")
    pj["spec"]["refs"]["org"] = "https://gerrit.example.com/"
    pj["spec"]["refs"]["repo"] = "platform/build"
    assert job_url(pj, BUILD, PLANK) == (
        "https://prow.k8s.io/view/gs/kubernetes-jenkins/pr-logs/pull/"
        f"gerrit.example.com_platform_build/541/the-job/{BUILD}"
    )


def test_job_url_postsubmit() -> None:
    assert job_url(prowjob("postsubmit", "post-build"), BUILD, PLANK) == (
        f"https://prow.k8s.io/view/gs/kubernetes-jenkins/logs/post-build/{BUILD}"
    )


@pytest.mark.parametrize("strategy", ["explicit", "legacy", "single"])
def test_job_url_periodic_ignores_path_strategy(strategy: str) -> None:
    config = gcs(path_strategy=strategy, default_org="org", default_repo="repo")
    pj = prowjob("periodic", "periodic-nightly", gcs_config=config)
    assert job_url(pj, BUILD, PLANK) == (
        f"https://prow.k8s.io/view/gs/kubernetes-jenkins/logs/periodic-nightly/{BUILD}"
    )


def test_job_url_batch() -> None:
    assert job_url(prowjob("batch", "pull-unit"), BUILD, PLANK) == (
        f"https://prow.k8s.io/view/gs/kubernetes-jenkins/pr-logs/pull/batch/pull-unit/{BUILD}"
    )


def test_job_url_path_prefix() -> None:
    pj = prowjob("postsubmit", "post-build", gcs_config=gcs(path_prefix="/ci/prow/"))
    assert job_url(pj, BUILD, PLANK) == (
        f"https://prow.k8s.io/view/gs/kubernetes-jenkins/ci/prow/logs/post-build/{BUILD}"
    )


# --- job_url: storage provider and bucket ---------------------------------------------------


def test_job_url_provider_disabled() -> None:
    plank = PlankConfig(
        job_url_prefix_config={"*": "https://prow.k8s.io/view/"},
        job_url_prefix_disable_append_storage_provider=True,
    )
    assert job_url(prowjob("postsubmit", "post-build"), BUILD, plank) == (
        f"https://prow.k8s.io/view/kubernetes-jenkins/logs/post-build/{BUILD}"
    )


def test_job_url_provider_disabled_presubmit() -> None:
    plank = PlankConfig(
        job_url_prefix_config={"*": "https://prow.k8s.io/view/"},
        job_url_prefix_disable_append_storage_provider=True,
    )
    assert job_url(prowjob("presubmit"), BUILD, plank) == (
        f"https://prow.k8s.io/view/kubernetes-jenkins/pr-logs/pull/org_repo/541/the-job/{BUILD}"
    )


@pytest.mark.parametrize(
    ("bucket", "segment"),
    [
        ("s3://my-bucket", "s3/my-bucket"),
        ("s3://my-bucket/some/path", "s3/my-bucket/some/path"),
        ("gs://gcs-bucket", "gs/gcs-bucket"),
        ("plain-bucket/with/path", "gs/plain-bucket/with/path"),
    ],
)
def test_job_url_bucket_schemes(bucket: str, segment: str) -> None:
    pj = prowjob("postsubmit", "post-build", gcs_config=gcs(bucket=bucket))
    assert job_url(pj, BUILD, PLANK) == (
        f"https://prow.k8s.io/view/{segment}/logs/post-build/{BUILD}"
    )


# --- job_url: prefix lookup -----------------------------------------------------------------


def test_prefix_lookup_order() -> None:
    plank = PlankConfig(
        job_url_prefix_config={
            "*": "https://star/view/",
            "org": "https://org/view/",
            "org/repo": "https://org-repo/view/",
        }
    )
    pj = prowjob("postsubmit")
    assert job_url_prefix(pj["spec"], plank) == "https://org-repo/view/"
    pj["spec"]["refs"]["repo"] = "other"
    assert job_url_prefix(pj["spec"], plank) == "https://org/view/"
    pj["spec"]["refs"]["org"] = "elsewhere"
    assert job_url_prefix(pj["spec"], plank) == "https://star/view/"


def test_prefix_for_periodic_comes_from_first_extra_ref() -> None:
    plank = PlankConfig(
        job_url_prefix_config={"*": "https://star/view/", "kubevirt": "https://kv/view/"}
    )
    pj = prowjob("periodic", "periodic-x")
    pj["spec"]["extra_refs"] = [
        {"org": "kubevirt", "repo": "kubevirt"},
        {"org": "other", "repo": "r"},
    ]
    assert job_url(pj, BUILD, plank) == (
        f"https://kv/view/gs/kubernetes-jenkins/logs/periodic-x/{BUILD}"
    )


def test_prefix_for_job_without_refs_is_star() -> None:
    plank = PlankConfig(
        job_url_prefix_config={"*": "https://star/view/", "org": "https://org/view/"}
    )
    assert job_url_prefix(prowjob("periodic")["spec"], plank) == "https://star/view/"


def test_gcs_configuration_prefix_wins() -> None:
    pj = prowjob("postsubmit", "post", gcs_config=gcs(job_url_prefix="https://own.example/v/"))
    assert (
        job_url(pj, BUILD, PLANK)
        == f"https://own.example/v/gs/kubernetes-jenkins/logs/post/{BUILD}"
    )


@pytest.mark.parametrize(
    "prefix", ["https://deck.example/view/gcs/", "https://deck.example/view/gcs"]
)
def test_prefix_trailing_gcs_is_kept(prefix: str) -> None:
    """§8.8: Plank.GetJobURLPrefix returns the prefix as configured; JobURL path.Joins it."""
    plank = PlankConfig(job_url_prefix_config={"*": prefix})
    assert job_url(prowjob("postsubmit", "post"), BUILD, plank) == (
        f"https://deck.example/view/gcs/gs/kubernetes-jenkins/logs/post/{BUILD}"
    )


def test_prefix_without_path() -> None:
    plank = PlankConfig(job_url_prefix_config={"*": "https://deck.example"})
    assert job_url(prowjob("postsubmit", "post"), BUILD, plank) == (
        f"https://deck.example/gs/kubernetes-jenkins/logs/post/{BUILD}"
    )


# --- job_url: when the prefix variant does not apply ----------------------------------------


def test_job_url_empty_without_decoration() -> None:
    pj = prowjob("postsubmit")
    del pj["spec"]["decoration_config"]
    assert job_url(pj, BUILD, PLANK) == ""


def test_job_url_empty_without_gcs_configuration() -> None:
    pj = prowjob("postsubmit")
    pj["spec"]["decoration_config"] = {"timeout": "2h"}
    assert job_url(pj, BUILD, PLANK) == ""


def test_job_url_empty_without_prefix() -> None:
    plank = PlankConfig(job_url_template="https://deck/{{.Spec.Job}}/{{.Status.BuildID}}")
    assert job_url(prowjob("postsubmit"), BUILD, plank) == ""


def test_job_url_empty_without_build_id() -> None:
    assert job_url(prowjob("postsubmit"), "", PLANK) == ""


def test_job_url_empty_for_presubmit_without_pull() -> None:
    pj = prowjob("presubmit")
    pj["spec"]["refs"]["pulls"] = []
    assert job_url(pj, BUILD, PLANK) == ""


def test_job_url_empty_for_unknown_path_strategy() -> None:
    pj = prowjob("presubmit", gcs_config=gcs(path_strategy=""))
    assert job_url(pj, BUILD, PLANK) == ""


def test_job_url_escapes_path_like_go() -> None:
    plank = PlankConfig(job_url_prefix_config={"*": "https://deck.example/my%20view/"})
    pj = prowjob("postsubmit", "job?#x", gcs_config=gcs(bucket="b"))
    assert job_url(pj, "1", plank) == "https://deck.example/my%20view/gs/b/logs/job%3F%23x/1"
