"""Prow's own table tests, ported as data: each test names the Go test whose cases it carries.

Source: kubernetes-sigs/prow (pkg/pjutil/pjutil_test.go, cmd/deck/rerun_test.go). Only the cases'
inputs and expected outputs are taken; they drive the gateway's pure builders. Cases that test a
feature the gateway deliberately lacks are listed, with the reason, next to the table they belong
to.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.config_state import ConfigState
from prow_graphql.errors import PermissionDenied
from prow_graphql.identity import Identity
from prow_graphql.informer import Informer
from prow_graphql.prow.authz import may_run
from prow_graphql.prow.config import ConfigEntry, DeckConfig, PlankConfig, parse_prow_config
from prow_graphql.prow.jobs import Periodic, Postsubmit, Presubmit
from prow_graphql.prow.links import job_url
from prow_graphql.prow.objects import ProwJobType, Pull, Refs
from prow_graphql.prow.prowjob import (
    build_prowjob,
    build_spec,
    new_prowjob,
    new_refs,
)
from prow_graphql.prow.prowjob_spec import _complete_primary_refs
from prow_graphql.service import GatewayService, NotAbortable, Policy, RerunMode
from prow_graphql.service.lifecycle import _spec_org_repo
from prow_graphql.store.memory import MemoryStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# Label and annotation keys as Prow's kube package spells them.
CREATED = "created-by-prow"
JOB = "prow.k8s.io/job"
CONTEXT = "prow.k8s.io/context"
TYPE = "prow.k8s.io/type"
ORG = "prow.k8s.io/refs.org"
REPO = "prow.k8s.io/refs.repo"
BASE_REF = "prow.k8s.io/refs.base_ref"
PULL = "prow.k8s.io/refs.pull"

LONG_JOB = (
    "job-created-by-someone-who-loves-very-very-very-long-names-so-long-that-it-does-not-fit-"
    "into-the-Kubernetes-label-so-it-needs-to-be-truncated-to-63-characters"
)
LONG_CONTEXT = (
    "context-created-by-someone-who-loves-very-very-very-long-names-so-long-that-it-does-not-fit-"
    "into-the-Kubernetes-label-so-it-needs-to-be-truncated-to-63-characters"
)
# Go's Pull has no omitempty on author and sha: its JSON form (which the gateway builds) has them.
PULL_1 = {"number": 1, "author": "", "sha": ""}
PR_REFS = {"org": "org", "repo": "repo", "base_ref": "main", "pulls": [PULL_1]}
PR_LABELS = {ORG: "org", REPO: "repo", BASE_REF: "main", PULL: "1"}
PLAIN = {JOB: "job", CONTEXT: "job-context"}

# (name, spec, extra labels, extra annotations, expected labels, expected annotations)
NEW_PROWJOB_CASES: list[
    tuple[str, dict[str, Any], dict[str, str], dict[str, str], dict[str, str], dict[str, str]]
] = [
    (
        "periodic job, no extra labels",
        {"job": "job", "context": "job-context", "type": "periodic"},
        {},
        {},
        {CREATED: "true", JOB: "job", CONTEXT: "job-context", TYPE: "periodic"},
        PLAIN,
    ),
    (
        "periodic job, extra labels",
        {"job": "job", "context": "job-context", "type": "periodic"},
        {"extra": "stuff"},
        {},
        {CREATED: "true", JOB: "job", CONTEXT: "job-context", TYPE: "periodic", "extra": "stuff"},
        PLAIN,
    ),
    (
        "periodic job with extra refs",
        {
            "job": "job",
            "context": "job-context",
            "type": "periodic",
            "extra_refs": [{"org": "org", "repo": "repo", "base_ref": "main"}],
        },
        {},
        {},
        {
            CREATED: "true",
            JOB: "job",
            CONTEXT: "job-context",
            TYPE: "periodic",
            ORG: "org",
            REPO: "repo",
            BASE_REF: "main",
        },
        PLAIN,
    ),
    (
        "presubmit job",
        {"job": "job", "context": "job-context", "type": "presubmit", "refs": PR_REFS},
        {},
        {},
        {CREATED: "true", JOB: "job", CONTEXT: "job-context", TYPE: "presubmit", **PR_LABELS},
        PLAIN,
    ),
    (
        "non-github presubmit job",
        {
            "job": "job",
            "context": "job-context",
            "type": "presubmit",
            "refs": {
                "org": "https://some-gerrit-instance.foo.com",
                "repo": "some/invalid/repo",
                "base_ref": "main",
                "pulls": [PULL_1],
            },
        },
        {},
        {},
        {
            CREATED: "true",
            JOB: "job",
            CONTEXT: "job-context",
            TYPE: "presubmit",
            ORG: "some-gerrit-instance.foo.com",
            REPO: "repo",
            BASE_REF: "main",
            PULL: "1",
        },
        PLAIN,
    ),
    (
        "job with name too long to fit in a label",
        {"job": LONG_JOB, "context": "job-context", "type": "presubmit", "refs": PR_REFS},
        {},
        {},
        {
            CREATED: "true",
            JOB: "job-created-by-someone-who-loves-very-very-very-long-names-so-l",
            CONTEXT: "job-context",
            TYPE: "presubmit",
            **PR_LABELS,
        },
        {JOB: LONG_JOB, CONTEXT: "job-context"},
    ),
    (
        "job with context too long to fit in a label",
        {"job": "job", "context": LONG_CONTEXT, "type": "presubmit", "refs": PR_REFS},
        {},
        {},
        {
            CREATED: "true",
            JOB: "job",
            CONTEXT: "context-created-by-someone-who-loves-very-very-very-long-names",
            TYPE: "presubmit",
            **PR_LABELS,
        },
        {JOB: "job", CONTEXT: LONG_CONTEXT},
    ),
    (
        "periodic job, extra labels, extra annotations",
        {"job": "job", "context": "job-context", "type": "periodic"},
        {"extra": "stuff"},
        {"extraannotation": "foo"},
        {CREATED: "true", JOB: "job", CONTEXT: "job-context", TYPE: "periodic", "extra": "stuff"},
        {**PLAIN, "extraannotation": "foo"},
    ),
    (
        "job with podspec",
        # Go's empty PodSpec: containers has no omitempty, so its stored form is an empty list.
        {
            "job": "job",
            "context": "job-context",
            "type": "periodic",
            "pod_spec": {"containers": []},
        },
        {},
        {},
        {CREATED: "true", JOB: "job", CONTEXT: "job-context", TYPE: "periodic"},
        PLAIN,
    ),
]


@pytest.mark.parametrize(
    ("spec", "labels", "annotations", "want_labels", "want_annotations"),
    [case[1:] for case in NEW_PROWJOB_CASES],
    ids=[case[0] for case in NEW_PROWJOB_CASES],
)
def test_new_prowjob(
    spec: dict[str, Any],
    labels: dict[str, str],
    annotations: dict[str, str],
    want_labels: dict[str, str],
    want_annotations: dict[str, str],
) -> None:
    """Ports TestNewProwJob (pkg/pjutil/pjutil_test.go), all 9 cases: labels truncated and
    sanitised, full job and context kept in annotations, the spec copied unchanged (and not
    shared: the Go case "job with podspec" guards against a race on a shared pod spec)."""
    pj = new_prowjob(spec, labels, annotations, scheduler_enabled=False, now=NOW, name="n")
    assert pj["metadata"]["labels"] == want_labels
    assert pj["metadata"]["annotations"] == want_annotations
    assert pj["spec"] == spec
    if "pod_spec" in spec:
        pj["spec"]["pod_spec"]["nodeSelector"] = {"foo": "12M"}
        assert spec["pod_spec"] == {"containers": []}


@pytest.mark.parametrize(
    ("annotations", "want"),
    [(None, PLAIN), ({"annotation": "foo"}, {"annotation": "foo", **PLAIN})],
    ids=["job without annotation", "job with annotation"],
)
def test_new_prowjob_with_annotations(
    annotations: dict[str, str] | None, want: dict[str, str]
) -> None:
    """Ports TestNewProwJobWithAnnotations (pkg/pjutil/pjutil_test.go), both cases (Go's nil
    label and annotation maps are empty mappings here)."""
    spec = {"job": "job", "context": "job-context", "type": "periodic"}
    pj = new_prowjob(spec, {}, annotations or {}, scheduler_enabled=False, now=NOW, name="n")
    assert pj["metadata"]["annotations"] == want
    assert pj["spec"] == spec


@pytest.mark.parametrize(
    ("scheduler_enabled", "state"), [(False, "triggered"), (True, "scheduling")]
)
def test_new_prowjob_state_follows_the_scheduler(scheduler_enabled: bool, state: str) -> None:
    """The new run's state in TestRerun and TestLatestRerun (cmd/deck/rerun_test.go): triggered,
    or scheduling in "Rerun ProwJob in scheduling state" (Prow's RequireScheduling option)."""
    spec = {"job": "whoa", "type": "presubmit", "refs": PR_REFS}
    pj = new_prowjob(spec, {}, {}, scheduler_enabled=scheduler_enabled, now=NOW, name="n")
    assert pj["status"]["state"] == state


# (name, slack reporter config in, slack reporter config out). Go keeps an explicitly empty
# job_states_to_report slice in memory; its JSON form (omitempty) has no key, which is what the
# gateway writes, so "base-case" expects the key gone.
SET_REPORT_DEFAULT_CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = [
    ("base-case", {"job_states_to_report": []}, {"report": False}),
    (
        "to-report",
        {"job_states_to_report": ["aborted"]},
        {"job_states_to_report": ["aborted"], "report": True},
    ),
    (
        "explicit-report",
        {"job_states_to_report": [], "report": True},
        {"job_states_to_report": [], "report": True},
    ),
    ("explicit-no-report", {"report": False}, {"report": False}),
    (
        "explicit-no-report-with-states",
        {"job_states_to_report": ["aborted"], "report": False},
        {"job_states_to_report": ["aborted"], "report": False},
    ),
    ("no-slack-report", None, None),
]


@pytest.mark.parametrize(
    ("slack", "want"),
    [case[1:] for case in SET_REPORT_DEFAULT_CASES],
    ids=[case[0] for case in SET_REPORT_DEFAULT_CASES],
)
def test_set_report_default(slack: dict[str, Any] | None, want: dict[str, Any] | None) -> None:
    """Ports TestSetReportDefault (pkg/pjutil/pjutil_test.go), all 6 cases, through NewProwJob
    (the gateway's new_prowjob), which is where Prow applies setReportDefault."""
    reporter: dict[str, Any] = {} if slack is None else {"slack": slack}
    spec = {"job": "j", "type": "periodic", "reporter_config": reporter}
    pj = new_prowjob(spec, {}, {}, scheduler_enabled=False, now=NOW, name="n")
    got = pj["spec"].get("reporter_config", {})
    assert got == ({} if want is None else {"slack": want})


# (name, refs, job-base fields, expected refs JSON).
# Left out: "use values from refs". Its refs carry clone_uri, skip_submodules, clone_depth and
# skip_fetch_head, which the gateway's Refs cannot hold: callers of triggerJob give only org,
# repo, branch, SHAs and the pull; clone settings come from the job config alone. Its path_alias
# part is kept below as "use values from refs (path_alias)".
COMPLETE_PRIMARY_REFS_CASES: list[tuple[str, Refs, dict[str, Any], dict[str, Any]]] = [
    ("basically works", Refs(org="", repo=""), {}, {"org": "", "repo": ""}),
    (
        "use values from refs (path_alias)",
        Refs(org="", repo="", path_alias="this"),
        {},
        {"org": "", "repo": "", "path_alias": "this"},
    ),
    (
        "use values from job base",
        Refs(org="", repo=""),
        {
            "path_alias": "more",
            "clone_uri": "fun",
            "skip_submodules": True,
            "clone_depth": 2,
            "skip_fetch_head": True,
            "decoration_config": {"blobless_fetch": True},
        },
        {
            "org": "",
            "repo": "",
            "path_alias": "more",
            "clone_uri": "fun",
            "skip_submodules": True,
            "clone_depth": 2,
            "skip_fetch_head": True,
            "blobless_fetch": True,
        },
    ),
    (
        "prefer job base values",
        Refs(org="", repo="", path_alias="this"),
        {"path_alias": "more", "clone_uri": "fun", "clone_depth": 2},
        {"org": "", "repo": "", "path_alias": "more", "clone_uri": "fun", "clone_depth": 2},
    ),
    (
        "sparse checkout files from decoration config are applied to ref",
        Refs(org="org", repo="repo", base_ref="main"),
        {"decoration_config": {"sparse_checkout_files": ["Dockerfile"]}},
        {"org": "org", "repo": "repo", "base_ref": "main", "sparse_checkout_files": ["Dockerfile"]},
    ),
]


@pytest.mark.parametrize(
    ("refs", "job_fields", "want"),
    [case[1:] for case in COMPLETE_PRIMARY_REFS_CASES],
    ids=[case[0] for case in COMPLETE_PRIMARY_REFS_CASES],
)
def test_complete_primary_refs(
    refs: Refs, job_fields: dict[str, Any], want: dict[str, Any]
) -> None:
    """Ports TestCompletePrimaryRefs (pkg/pjutil/pjutil_test.go): 4 of its 5 cases whole, the
    path_alias part of the fifth (see the note above the table)."""
    job = Postsubmit(name="j", source_path="j.yaml", **job_fields)
    assert _complete_primary_refs(refs, job) == want


# (name, plank.job_url_prefix_config, disable-append-storage-provider, bucket, expected URL).
# Each Go case builds a presubmit for org/repo#1 with path_strategy explicit, no job name and no
# build id. The gateway computes the URL only once a build id exists (plank sets it before it
# calls JobURL), so every case gets build id 42: Go's path.Join then appends "/42".
# Left out: "non-decorated job uses template", "non-decorated job with broken template gives
# empty string", "decorated job without prefix uses template": they execute
# plank.job_url_template, a Go template, which the gateway deliberately does not emulate (it
# returns "" and callers read status.url, written by plank).
JOB_URL_CASES: list[tuple[str, dict[str, str], bool, str, str]] = [
    (
        "decorated job with prefix uses gcsupload",
        {"*": "https://gubernator.com/build"},
        True,
        "bucket",
        "https://gubernator.com/build/bucket/pr-logs/pull/org_repo/1/42",
    ),
    (
        "decorated job with prefix uses gcsupload and new bucket format with gcs (new job url "
        "format)",
        {"*": "https://prow.k8s.io/view/"},
        False,
        "gs://bucket",
        "https://prow.k8s.io/view/gs/bucket/pr-logs/pull/org_repo/1/42",
    ),
    (
        "decorated job with prefix uses gcsupload and new bucket format with s3",
        {"*": "https://prow.k8s.io/view/"},
        False,
        "s3://bucket",
        "https://prow.k8s.io/view/s3/bucket/pr-logs/pull/org_repo/1/42",
    ),
    (
        "decorated job with prefix uses gcsupload with valid bucket with multiple separators",
        {"*": "https://prow.k8s.io/view/"},
        False,
        "gs://my-floppy-backup/a://doom2.wad.006",
        "https://prow.k8s.io/view/gs/my-floppy-backup/a:/doom2.wad.006/pr-logs/pull/org_repo/1/42",
    ),
]


@pytest.mark.parametrize(
    ("prefixes", "no_provider", "bucket", "want"),
    [case[1:] for case in JOB_URL_CASES],
    ids=[case[0] for case in JOB_URL_CASES],
)
def test_job_url(prefixes: dict[str, str], no_provider: bool, bucket: str, want: str) -> None:
    """Ports TestJobURL (pkg/pjutil/pjutil_test.go): its 4 job_url_prefix_config cases."""
    plank = PlankConfig(
        job_url_prefix_config=prefixes, job_url_prefix_disable_append_storage_provider=no_provider
    )
    prowjob = {
        "spec": {
            "type": "presubmit",
            "refs": {"org": "org", "repo": "repo", "pulls": [{"number": 1}]},
            "decoration_config": {
                "gcs_configuration": {"bucket": bucket, "path_strategy": "explicit"}
            },
        }
    }
    assert job_url(prowjob, "42", plank) == want


# --- Deck's rerun authorization (cmd/deck/rerun_test.go) ------------------------------------
# Deck asks GitHub about memberships; the gateway reads them from identity groups. The Go tests'
# fake GitHub puts "sig-lead" on team 42 and "org-member" in org "org"; the logins below carry
# the same facts as groups.
GROUPS = {
    "sig-lead": ("github-team-id:org/42",),
    "org-member": ("github-org:org",),
}
AUTHORIZED = ["authorized", "alsoauthorized"]
# The job-level rerun_auth_config: the old ProwJob's in TestRerun, the configured job's (which
# becomes the new ProwJob's) in TestLatestRerun; both are these lists.
JOB_AUTH = {"allow_anyone": False, "github_users": AUTHORIZED, "github_team_ids": [42]}

# (name, login, config-level github_users, config-level allow_anyone, allowed).
# Left out, from both tests:
# - "RerunCreatesJob set to false, should not create prow job" and "Direct rerun disabled, post
#   request": Deck's --rerun-creates-job flag and GET-means-preview; the gateway's rerun has
#   neither (it always creates; enabling it is a matter of authorization), so nothing to test.
# - "Org member permitted for presubmits": Deck's last resort runs the trigger plugin's
#   TrustedPullRequest (plugins.yaml trigger config, and the PR's ok-to-test label read from
#   GitHub). The gateway reads neither plugins.yaml nor GitHub, so an org member not named by a
#   rerun_auth_config is refused; docs/auth.md states this narrowing.
RERUN_AUTH_CASES: list[tuple[str, str, list[str], bool, bool]] = [
    ("Handler returns ProwJob", "authorized", AUTHORIZED, False, True),
    ("User not authorized to create prow job", "random-dude", AUTHORIZED, False, False),
    ("Allow anyone set to true, creates job", "ugh", AUTHORIZED, True, True),
    ("User permitted on specific job", "authorized", [], False, True),
    ("User on permitted team", "sig-lead", [], False, True),
    ("Rerun ProwJob in scheduling state", "authorized", AUTHORIZED, False, True),
]


def _decide(login: str, users: list[str], anyone: bool, job_auth: dict[str, Any]) -> bool:
    deck = DeckConfig(
        rerun_auth_config_entries=(
            ConfigEntry("", "", {"allow_anyone": anyone, "github_users": users}),
        )
    )
    identity = Identity(user=login, groups=GROUPS.get(login, ()), authenticated=True)
    return may_run(job_auth, deck, "org/repo", "default", identity, action="rerun").allowed


@pytest.mark.parametrize(
    ("login", "users", "anyone", "allowed"),
    [case[1:] for case in RERUN_AUTH_CASES],
    ids=[case[0] for case in RERUN_AUTH_CASES],
)
def test_rerun_authorization(login: str, users: list[str], anyone: bool, allowed: bool) -> None:
    """Ports TestRerun (cmd/deck/rerun_test.go): 6 of its 9 cases (see the note above the table;
    the scheduling state is in test_new_prowjob_state_follows_the_scheduler)."""
    assert _decide(login, users, anyone, JOB_AUTH) is allowed


# TestLatestRerun: the same rows, plus the periodic ones. The job-level list is the configured
# job's; the old ProwJob's (github_users: [random, random]) must not count.
LATEST_RERUN_AUTH_CASES: list[tuple[str, str, list[str], bool, bool]] = [
    ("Handler returns Presubmit ProwJob", "authorized", AUTHORIZED, False, True),
    ("Handler returns Periodic ProwJob", "authorized", AUTHORIZED, False, True),
    *RERUN_AUTH_CASES[1:],
    ("Org member not permitted for periodic", "org-member", [], False, False),
]


@pytest.mark.parametrize(
    ("login", "users", "anyone", "allowed"),
    [case[1:] for case in LATEST_RERUN_AUTH_CASES],
    ids=[case[0] for case in LATEST_RERUN_AUTH_CASES],
)
def test_latest_rerun_authorization(
    login: str, users: list[str], anyone: bool, allowed: bool
) -> None:
    """Ports TestLatestRerun (cmd/deck/rerun_test.go): 8 of its 11 cases, authorized against
    the new ProwJob's rerun_auth_config (the current job's), as Deck does."""
    assert _decide(login, users, anyone, JOB_AUTH) is allowed
    # The old run's list named "random"; in latest mode it grants nothing.
    assert _decide("random", [], False, JOB_AUTH) is False


def test_pull_label_from_the_first_pull() -> None:
    """Pull label, refs labels and context "" as in TestLatestRerun's expected ProwJob."""
    spec = {
        "job": "whoa",
        "type": "presubmit",
        "refs": {
            "org": "org",
            "repo": "repo",
            "base_ref": "master",
            "base_sha": "foo",
            "pulls": [{"number": 1, "author": "authorized", "sha": ""}],
        },
    }
    pj = new_prowjob(
        spec, {"foo": "foo"}, {"foo": "foo"}, scheduler_enabled=False, now=NOW, name="n"
    )
    assert pj["metadata"]["labels"] == {
        CREATED: "true",
        "foo": "foo",
        CONTEXT: "",
        JOB: "whoa",
        BASE_REF: "master",
        ORG: "org",
        PULL: "1",
        REPO: "repo",
        TYPE: "presubmit",
    }
    assert pj["metadata"]["annotations"] == {"foo": "foo", CONTEXT: "", JOB: "whoa"}


# --- TestLatestRerun's expected ProwJob, through the gateway's rerun --------------------------

WHOA_CONFIG = """\
presubmits:
  org/repo:
  - name: whoa
    branches: [master]
    labels: {foo: foo}
    annotations: {foo: foo}
    rerun_auth_config: {allow_anyone: false, github_users: [authorized, alsoauthorized],
                        github_team_ids: [42]}
    spec: {containers: [{image: 'alpine:3.20'}]}
"""


async def _service_with(
    tmp_path: Path, config: str, jobs: str, old: dict[str, Any]
) -> tuple[GatewayService, MemoryStore]:
    """A gateway over an embedded store holding `old`, with literal config.yaml and one job
    file; authorization on, abort enabled."""
    (tmp_path / "config.yaml").write_text(config)
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "whoa.yaml").write_text(jobs)
    store = MemoryStore("default")
    service = GatewayService(
        config=ConfigState(tmp_path / "config.yaml", tmp_path / "jobs"),
        store=store,
        informer=Informer(store),
        policy=Policy(authorize=True, enable_abort=True),
    )
    await store.create(old)
    return service, store


def _old_whoa(login: str) -> dict[str, Any]:
    """The ProwJob "wowsuch" that TestLatestRerun reruns, with its refs exactly as stored: a
    base_sha of "foo" and no links (Deck never validates or rewrites the old run's refs)."""
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": "wowsuch",
            "labels": {"prow.k8s.io/gerrit-report-label": "foo", "random": "foo"},
            "annotations": {"prow.k8s.io/gerrit-id": "foo", "random": "foo"},
        },
        "spec": {
            "type": "presubmit",
            "job": "whoa",
            "refs": {
                "org": "org",
                "repo": "repo",
                "base_ref": "master",
                "base_sha": "foo",
                "pulls": [{"number": 1, "author": login, "sha": ""}],
            },
            "rerun_auth_config": {"allow_anyone": False, "github_users": ["random", "random"]},
        },
        "status": {"state": "pending", "startTime": "2026-01-02T03:04:05Z"},
    }


async def test_latest_rerun_builds_the_prowjob_deck_builds(tmp_path: Path) -> None:
    """Ports TestLatestRerun's expected ProwJob (cmd/deck/rerun_test.go, the case "RerunCreatesJob
    set to false", which shows the new ProwJob): labels and annotations from the current job
    plus the old run's component keys only, refs copied verbatim (base_sha "foo" included), the
    current job's rerun_auth_config as Go encodes it (omitempty: no allow_anyone: false) and
    report: true. The gateway adds its own triggered-by
    annotation and is-optional is not set (Deck's rerun does not set it either). Defaulting by
    the loader gives the context "whoa" where Go's undefaulted test config leaves it empty."""
    service, _ = await _service_with(tmp_path, "{}\n", WHOA_CONFIG, _old_whoa("authorized"))
    identity = Identity(user="authorized", authenticated=True)
    new = (await service.rerun("wowsuch", RerunMode.LATEST, identity, hidden_repos=None)).prowjob
    assert new["metadata"]["labels"] == {
        "created-by-prow": "true",
        "foo": "foo",
        CONTEXT: "whoa",
        "prow.k8s.io/gerrit-report-label": "foo",
        JOB: "whoa",
        BASE_REF: "master",
        ORG: "org",
        PULL: "1",
        REPO: "repo",
        TYPE: "presubmit",
    }
    assert new["metadata"]["annotations"] == {
        "foo": "foo",
        CONTEXT: "whoa",
        "prow.k8s.io/gerrit-id": "foo",
        JOB: "whoa",
        "prow-graphql.prow.k8s.io/triggered-by": "authorized",
    }
    spec = new["spec"]
    assert spec["refs"] == _old_whoa("authorized")["spec"]["refs"]
    assert spec["report"] is True
    assert spec["rerun_auth_config"] == {
        "github_users": AUTHORIZED,
        "github_team_ids": [42],
    }
    assert new["status"]["state"] == "triggered"
    # Authorized on the new ProwJob: the old run's "random" may not rerun it.
    with pytest.raises(PermissionDenied):
        await service.rerun(
            "wowsuch",
            RerunMode.LATEST,
            Identity(user="random", authenticated=True),
            hidden_repos=None,
        )


# --- PresubmitSpec / PostsubmitSpec / BatchSpec / PeriodicSpec / specFromJobBase ---------------
# The Go cases use a zero JobBase (no name, agent, cluster or namespace); the gateway's JobBase
# has loader defaults for those, so each case clears them to compare the whole spec.
ZERO_JOB = {"name": "", "source_path": "j.yaml", "agent": "", "cluster": "", "namespace": ""}
# The gateway runs a presubmit or batch only for a pull request (PullRequestRequired); Go's
# spec builders carry the pull through untouched, so those cases get pull #1 on both sides.
EMPTY_REFS = {"org": "", "repo": ""}

# (name, job clone fields, refs clone fields, expected refs clone fields)
POSTSUBMIT_SPEC_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "can override fields",
        {
            "path_alias": "foo",
            "clone_uri": "bar",
            "skip_submodules": True,
            "clone_depth": 7,
            "skip_fetch_head": True,
        },
        {},
        {
            "path_alias": "foo",
            "clone_uri": "bar",
            "skip_submodules": True,
            "clone_depth": 7,
            "skip_fetch_head": True,
        },
    ),
    (
        "controller can default fields",
        {},
        {
            "path_alias": "fancy",
            "clone_uri": "cats",
            "skip_submodules": True,
            "clone_depth": 8,
            "skip_fetch_head": True,
        },
        {
            "path_alias": "fancy",
            "clone_uri": "cats",
            "skip_submodules": True,
            "clone_depth": 8,
            "skip_fetch_head": True,
        },
    ),
    (
        "job overrides take precedence over controller defaults",
        {"path_alias": "foo", "clone_depth": 3, "clone_uri": "bar"},
        {"path_alias": "fancy", "clone_depth": 1, "clone_uri": "cats"},
        {"path_alias": "foo", "clone_depth": 3, "clone_uri": "bar"},
    ),
]
# PresubmitSpec and BatchSpec share one table in Go (path_alias and clone_uri only).
PRESUBMIT_SPEC_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "can override path alias and cloneuri",
        {"path_alias": "foo", "clone_uri": "bar"},
        {},
        {"path_alias": "foo", "clone_uri": "bar"},
    ),
    (
        "controller can default path alias and cloneuri",
        {},
        {"path_alias": "fancy", "clone_uri": "cats"},
        {"path_alias": "fancy", "clone_uri": "cats"},
    ),
    (
        "job overrides take precedence over controller defaults",
        {"path_alias": "foo", "clone_uri": "bar"},
        {"path_alias": "fancy", "clone_uri": "cats"},
        {"path_alias": "foo", "clone_uri": "bar"},
    ),
]


@pytest.mark.parametrize(
    ("job_fields", "refs_fields", "want_refs"),
    [case[1:] for case in POSTSUBMIT_SPEC_CASES],
    ids=[case[0] for case in POSTSUBMIT_SPEC_CASES],
)
def test_postsubmit_spec(
    job_fields: dict[str, Any], refs_fields: dict[str, Any], want_refs: dict[str, Any]
) -> None:
    """Ports TestPostsubmitSpec (pkg/pjutil/pjutil_test.go), all 3 cases. Refs carrying their
    own clone settings reach build_spec as stored refs (Deck's rerun), the only way they can."""
    job = Postsubmit(**ZERO_JOB, **job_fields)
    spec = build_spec(job, ProwJobType.POSTSUBMIT, None, stored_refs={**EMPTY_REFS, **refs_fields})
    assert spec == {"type": "postsubmit", "refs": {**EMPTY_REFS, **want_refs}, "report": True}


@pytest.mark.parametrize("run_as", [ProwJobType.PRESUBMIT, ProwJobType.BATCH])
@pytest.mark.parametrize(
    ("job_fields", "refs_fields", "want_refs"),
    [case[1:] for case in PRESUBMIT_SPEC_CASES],
    ids=[case[0] for case in PRESUBMIT_SPEC_CASES],
)
def test_presubmit_and_batch_spec(
    run_as: ProwJobType,
    job_fields: dict[str, Any],
    refs_fields: dict[str, Any],
    want_refs: dict[str, Any],
) -> None:
    """Ports TestPresubmitSpec and TestBatchSpec (pkg/pjutil/pjutil_test.go), 3 cases each: a
    presubmit reports by default, a batch has no report field."""
    job = Presubmit(**ZERO_JOB, **job_fields)
    stored = {**EMPTY_REFS, "pulls": [PULL_1], **refs_fields}
    spec = build_spec(job, run_as, None, stored_refs=stored)
    want: dict[str, Any] = {"type": str(run_as), "refs": {**stored, **want_refs}}
    if run_as is ProwJobType.PRESUBMIT:
        want["report"] = True
    assert spec == want


def test_periodic_spec() -> None:
    """Ports TestPeriodicSpec (pkg/pjutil/pjutil_test.go), its 1 case: report is set to true."""
    spec = build_spec(Periodic(**ZERO_JOB), ProwJobType.PERIODIC, None)
    assert spec == {"type": "periodic", "report": True}


EXTRA_REFS = (
    {"org": "true-org", "repo": "", "blobless_fetch": True},
    {"org": "false-org", "repo": "", "blobless_fetch": False},
    {"org": "default-org", "repo": ""},
)
RERUN_AUTH = {
    "allow_anyone": False,
    "github_team_ids": [1234, 5678],
    "github_users": ["authorized_user", "another_authorized_user"],
    "github_orgs": ["kubernetes", "kubernetes-sigs"],
}
# (name, job-base fields, spec fields the Go check looks at, expected values)
SPEC_FROM_JOB_BASE_CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    (
        "Verify reporter config gets copied",
        {"reporter_config": {"slack": {"channel": "my-channel"}}},
        "reporter_config",
        {"slack": {"channel": "my-channel"}},
    ),
    # allow_anyone: false is omitempty in Go's JSON; the three lists must be there.
    (
        "Verify rerun permissions gets copied",
        {"rerun_auth_config": RERUN_AUTH},
        "rerun_auth_config",
        {k: v for k, v in RERUN_AUTH.items() if k != "allow_anyone"},
    ),
    ("Verify hidden property gets copied", {"hidden": True}, "hidden", True),
    (
        "Verify DecorateExtraRefs default true",
        {"decoration_config": {"blobless_fetch": True}, "extra_refs": EXTRA_REFS},
        "extra_refs",
        [True, False, True],
    ),
    (
        "Verify DecorateExtraRefs default false",
        {"decoration_config": {"blobless_fetch": False}, "extra_refs": EXTRA_REFS},
        "extra_refs",
        [True, False, False],
    ),
    (
        "Verify DecorateExtraRefs no decoration preserves existing",
        {"extra_refs": EXTRA_REFS},
        "extra_refs",
        [True, False, None],
    ),
]


@pytest.mark.parametrize(
    ("job_fields", "field", "want"),
    [case[1:] for case in SPEC_FROM_JOB_BASE_CASES],
    ids=[case[0] for case in SPEC_FROM_JOB_BASE_CASES],
)
def test_spec_from_job_base(job_fields: dict[str, Any], field: str, want: Any) -> None:
    """Ports TestSpecFromJobBase (pkg/pjutil/pjutil_test.go), all 6 cases (through a periodic's
    spec; for extra_refs the expected value is each ref's blobless_fetch, None = unset)."""
    spec = build_spec(Periodic(**ZERO_JOB, **job_fields), ProwJobType.PERIODIC, None)
    if field == "extra_refs":
        assert [ref.get("blobless_fetch") for ref in spec["extra_refs"]] == want
        assert [ref["org"] for ref in spec["extra_refs"]] == [
            "true-org",
            "false-org",
            "default-org",
        ]
    else:
        assert spec[field] == want


# --- createRefs, NewProwJob and NewPresubmit with modifiers -----------------------------------
# Prow's tests use short SHAs ("abcdef", "123456", "987654"); the gateway accepts only full
# 40-hex SHAs from callers (§8.6), so these cases pad them with zeros, in links too.
BASE_SHA = "abcdef" + "0" * 34
HEAD_SHA = "123456" + "0" * 34


def test_create_refs() -> None:
    """Ports TestCreateRefs (pkg/pjutil/pjutil_test.go), its 1 case, on new_refs: the links are
    the ones Prow's trigger takes from GitHub, built from github.link_url."""
    pull = Pull(
        number=42, author="ibzib", sha=HEAD_SHA, title="hello world", head_ref="my-great-change"
    )
    refs = new_refs(
        "https://github.example.com",
        "kubernetes",
        "Hello-World",
        "master",
        base_sha=BASE_SHA,
        pull=pull,
    )
    repo = "https://github.example.com/kubernetes/Hello-World"
    assert refs == Refs(
        org="kubernetes",
        repo="Hello-World",
        repo_link=repo,
        base_ref="master",
        base_sha=BASE_SHA,
        base_link=f"{repo}/commit/{BASE_SHA}",
        pulls=(
            Pull(
                number=42,
                author="ibzib",
                sha=HEAD_SHA,
                head_ref="my-great-change",
                title="hello world",
                link=f"{repo}/pull/42",
                author_link="https://github.example.com/ibzib",
                commit_link=f"{repo}/pull/42/commits/{HEAD_SHA}",
            ),
        ),
    )


@pytest.mark.parametrize(
    ("scheduling", "state"),
    [(False, "triggered"), (True, "scheduling")],
    ids=["no options", "require scheduling"],
)
def test_new_prowjob_with_modifiers(scheduling: bool, state: str) -> None:
    """Ports TestNewProwJobWithModifiers (pkg/pjutil/pjutil_test.go), both cases, comparing the
    whole ProwJob (RequireScheduling is the gateway's scheduler_enabled)."""
    spec = {"job": "job", "context": "job-context", "type": "periodic"}
    pj = new_prowjob(
        spec,
        {"extra-label": "foo"},
        {"extra-annotation": "bar"},
        scheduler_enabled=scheduling,
        now=datetime(2024, 2, 27, tzinfo=UTC),
        name="foo",
    )
    assert pj == {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": "foo",
            "labels": {
                CREATED: "true",
                JOB: "job",
                CONTEXT: "job-context",
                TYPE: "periodic",
                "extra-label": "foo",
            },
            "annotations": {JOB: "job", CONTEXT: "job-context", "extra-annotation": "bar"},
        },
        "spec": spec,
        "status": {"startTime": "2024-02-27T00:00:00Z", "state": state},
    }


@pytest.mark.parametrize(
    ("scheduling", "state"),
    [(False, "triggered"), (True, "scheduling")],
    ids=["no options", "require scheduling"],
)
def test_new_presubmit_with_modifiers(scheduling: bool, state: str) -> None:
    """Ports TestNewPresubmitWithModifiers (pkg/pjutil/pjutil_test.go), both cases, on
    build_prowjob (the gateway's NewPresubmit): is-optional "false", the event GUID as an extra
    label, refs labels, report true. Besides the full SHAs (see above): Go's fixture PR is on
    kubernetes/repo-name but its links point to kubernetes/test-infra; the gateway builds links
    from org/repo, so here they say repo-name."""
    job = Presubmit(
        name="job", source_path="j.yaml", context="job-context", agent="", cluster="", namespace=""
    )
    base_sha = "987654" + "0" * 34
    pull = Pull(number=42, author="user-login", sha=HEAD_SHA, title="pr-title", head_ref="head-ref")
    refs = new_refs(
        "https://github.example.com",
        "kubernetes",
        "repo-name",
        "base-ref",
        base_sha=base_sha,
        pull=pull,
    )
    pj = build_prowjob(
        job,
        run_as=ProwJobType.PRESUBMIT,
        refs=refs,
        scheduler_enabled=scheduling,
        now=datetime(2024, 2, 27, tzinfo=UTC),
        name="foo",
        extra_labels={"event-GUID": "0001", "extra-label": "foo"},
    )
    repo = "https://github.example.com/kubernetes/repo-name"
    assert pj == {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {
            "name": "foo",
            "labels": {
                CREATED: "true",
                JOB: "job",
                CONTEXT: "job-context",
                TYPE: "presubmit",
                "event-GUID": "0001",
                "prow.k8s.io/is-optional": "false",
                ORG: "kubernetes",
                REPO: "repo-name",
                BASE_REF: "base-ref",
                PULL: "42",
                "extra-label": "foo",
            },
            "annotations": {JOB: "job", CONTEXT: "job-context"},
        },
        "spec": {
            "type": "presubmit",
            "job": "job",
            "refs": {
                "org": "kubernetes",
                "repo": "repo-name",
                "repo_link": repo,
                "base_ref": "base-ref",
                "base_sha": base_sha,
                "base_link": f"{repo}/commit/{base_sha}",
                "pulls": [
                    {
                        "number": 42,
                        "author": "user-login",
                        "sha": HEAD_SHA,
                        "title": "pr-title",
                        "head_ref": "head-ref",
                        "link": f"{repo}/pull/42",
                        "commit_link": f"{repo}/pull/42/commits/{HEAD_SHA}",
                        "author_link": "https://github.example.com/user-login",
                    }
                ],
            },
            "report": True,
            "context": "job-context",
        },
        "status": {"startTime": "2024-02-27T00:00:00Z", "state": state},
    }


# Not ported from pkg/pjutil/pjutil_test.go: TestPartitionActive and TestGetLatestProwJobs test
# helpers of Prow's controllers (plank's and the Jenkins operator's sync loops); the gateway
# creates ProwJobs and never runs or deduplicates them, so it has no such functions.


# --- Deck's abort (cmd/deck/abort_test.go) ----------------------------------------------------
# (name, login, config-level github_users, config-level allow_anyone, state, outcome).
# Outcome: "aborted", "denied" (Deck's 401) or "not abortable" (Deck's 400).
ABORT_CASES: list[tuple[str, str, list[str], bool, str, str]] = [
    ("Abort on triggered state", "authorized", AUTHORIZED, False, "triggered", "aborted"),
    ("Abort on pending state", "authorized", AUTHORIZED, False, "pending", "aborted"),
    (
        "Attempt to abort on success state",
        "authorized",
        AUTHORIZED,
        False,
        "success",
        "not abortable",
    ),
    (
        "Attempt to abort on aborted state",
        "authorized",
        AUTHORIZED,
        False,
        "aborted",
        "not abortable",
    ),
    ("User not authorized to abort job", "random-dude", AUTHORIZED, False, "pending", "denied"),
    ("Allow anyone set to true, abort job", "ugh", AUTHORIZED, True, "pending", "aborted"),
    ("User permitted to abort on specific job", "authorized", [], False, "pending", "aborted"),
    ("User on permitted team", "sig-lead", [], False, "pending", "aborted"),
]


@pytest.mark.parametrize(
    ("login", "users", "anyone", "state", "outcome"),
    [case[1:] for case in ABORT_CASES],
    ids=[case[0] for case in ABORT_CASES],
)
async def test_abort(
    tmp_path: Path, login: str, users: list[str], anyone: bool, state: str, outcome: str
) -> None:
    """Ports TestAbort (cmd/deck/abort_test.go), all 8 cases, through the gateway's abort. The
    config-level entry is written as deck.default_rerun_auth_configs; Prow refuses allow_anyone
    together with allow lists in a loaded config (Go's test injects it past that check), so the
    allow-anyone row writes allow_anyone alone."""
    entry = {"allow_anyone": True} if anyone else {"github_users": users}
    config = {"deck": {"default_rerun_auth_configs": [{"repo": "", "rerun_auth_configs": entry}]}}
    old = _old_whoa(login)
    old["spec"]["rerun_auth_config"] = JOB_AUTH
    old["status"]["state"] = state
    service, store = await _service_with(tmp_path, json.dumps(config), "{}\n", old)
    identity = Identity(user=login, groups=GROUPS.get(login, ()), authenticated=True)
    if outcome == "aborted":
        record = await service.abort("wowsuch", identity, hidden_repos=None)
        assert record.state.value == "aborted"
    else:
        with pytest.raises(PermissionDenied if outcome == "denied" else NotAbortable):
            await service.abort("wowsuch", identity, hidden_repos=None)
        assert (await store.get("wowsuch"))["status"]["state"] == state


def test_can_trigger_job() -> None:
    """Ports TestCanTriggerJob (cmd/deck/rerun_test.go): its case "Unauthorized user can not
    rerun" (no config-level and no job-level rerun_auth_config). Left out: "Authorized user can
    re-run", which passes only through the trigger plugin's TrustedPullRequest (see the note on
    RERUN_AUTH_CASES)."""
    identity = Identity(user="untrusted", authenticated=True)
    assert not may_run(None, DeckConfig(), "org/repo", "default", identity).allowed


# --- config-level rerun auth lookup (pkg/config/config_test.go) -------------------------------
# (name, deck config, job spec, expected config-level RerunAuthConfig)
ISTIO = {"refs": {"org": "istio", "repo": "istio"}}
EXTRA_ISTIO = {"extra_refs": [{"org": "istio", "repo": "istio"}]}
EXTRA_TWO = {
    "extra_refs": [{"org": "istio", "repo": "istio"}, {"org": "other-org", "repo": "other-repo"}]
}


def _users(*names: str) -> dict[str, Any]:
    return {"github_users": list(names)}


RERUN_AUTH_MAP_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None]] = [
    (
        "default to an empty config",
        {},
        {"refs": {"org": "my-default-org", "repo": "my-default-repo"}},
        None,
    ),
    (
        "unknown org or org/repo return wildcard",
        {"*": _users("clarketm")},
        {"refs": {"org": "my-default-org", "repo": "my-default-repo"}},
        _users("clarketm"),
    ),
    (
        "no refs return wildcard empty string match",
        {"": _users("leonardo")},
        {},
        _users("leonardo"),
    ),
    (
        "no refs return wildcard override to star match",
        {"": _users("clarketm"), "*": _users("scoobydoo"), "istio": _users("billybob")},
        {},
        _users("scoobydoo"),
    ),
    ("no refs return wildcard but there is no match", {"istio": _users("billybob")}, {}, None),
    (
        "use org if defined",
        {
            "*": _users("clarketm"),
            "istio": _users("scoobydoo"),
            "istio/test-infra": _users("billybob"),
        },
        ISTIO,
        _users("scoobydoo"),
    ),
    (
        "use org/repo if defined",
        {"*": _users("clarketm"), "istio/istio": _users("skywalker")},
        ISTIO,
        _users("skywalker"),
    ),
    (
        "org/repo takes precedence over org",
        {
            "*": _users("clarketm"),
            "istio": _users("scrappydoo"),
            "istio/istio": _users("airbender"),
        },
        ISTIO,
        _users("airbender"),
    ),
    (
        "use org/repo from extra refs",
        {"*": _users("clarketm"), "istio/istio": _users("skywalker")},
        EXTRA_ISTIO,
        _users("skywalker"),
    ),
    (
        "use only org/repo from first extra refs entry",
        {
            "*": _users("clarketm"),
            "istio/istio": _users("skywalker"),
            "other-org/other-repo": _users("anakin"),
        },
        EXTRA_TWO,
        _users("skywalker"),
    ),
]


@pytest.mark.parametrize(
    ("by_key", "spec", "want"),
    [case[1:] for case in RERUN_AUTH_MAP_CASES],
    ids=[case[0] for case in RERUN_AUTH_MAP_CASES],
)
def test_rerun_auth_configs_get_rerun_auth_config(
    by_key: dict[str, Any], spec: dict[str, Any], want: dict[str, Any] | None
) -> None:
    """Ports TestRerunAuthConfigsGetRerunAuthConfig (pkg/config/config_test.go), all 10 cases:
    the old map form of deck.rerun_auth_configs ("" before "*", then orgs, then repos)."""
    assert _config_level({"rerun_auth_configs": by_key}, spec) == want


def _config_level(deck_config: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    """Deck's GetRerunAuthConfig: the config-level entry for a ProwJob spec."""
    deck = parse_prow_config({"deck": deck_config}, "config.yaml").deck
    return deck.rerun_auth_config_for(_spec_org_repo(spec), str(spec.get("cluster") or ""))


def _entry(repo: str, cluster: str, *names: str) -> dict[str, Any]:
    return {"repo": repo, "cluster": cluster, "rerun_auth_configs": _users(*names)}


DEFAULT_RERUN_AUTH_CASES: list[
    tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, Any] | None]
] = [
    (
        "default to an empty config",
        [],
        {"refs": {"org": "my-default-org", "repo": "my-default-repo"}},
        None,
    ),
    (
        "unknown org or org/repo return wildcard",
        [_entry("*", "", "clarketm")],
        {"refs": {"org": "my-default-org", "repo": "my-default-repo"}},
        _users("clarketm"),
    ),
    ("no refs return wildcard", [_entry("*", "", "leonardo")], {}, _users("leonardo")),
    (
        "no refs return wildcard empty string match",
        [_entry("", "", "leonardo")],
        {},
        _users("leonardo"),
    ),
    (
        "no refs return wildcard override to star match",
        [
            _entry("", "", "clarketm"),
            _entry("*", "", "scoobydoo"),
            _entry("istio", "", "airbender"),
        ],
        {},
        _users("scoobydoo"),
    ),
    ("no refs return wildcard but there is no match", [_entry("istio", "", "billybob")], {}, None),
    (
        "use org if defined",
        [
            _entry("*", "", "clarketm"),
            _entry("istio", "", "scoobydoo"),
            _entry("istio/test-infra", "", "billybob"),
        ],
        ISTIO,
        _users("scoobydoo"),
    ),
    (
        "use org/repo if defined",
        [_entry("*", "", "clarketm"), _entry("istio/istio", "", "skywalker")],
        ISTIO,
        _users("skywalker"),
    ),
    (
        "org/repo takes precedence over org",
        [
            _entry("*", "", "clarketm"),
            _entry("istio", "", "scrappydoo"),
            _entry("istio/istio", "", "airbender"),
        ],
        ISTIO,
        _users("airbender"),
    ),
    (
        "cluster returns matching cluster",
        [_entry("istio", "", "scrappydoo"), _entry("istio", "trusted", "airbender")],
        {**ISTIO, "cluster": "trusted"},
        _users("airbender"),
    ),
    (
        "cluster returns wild card",
        [_entry("istio", "*", "scrappydoo"), _entry("istio", "cluster", "airbender")],
        {**ISTIO, "cluster": "trusted"},
        _users("scrappydoo"),
    ),
    (
        "no refs with cluster returns overriding matching cluster",
        [_entry("", "*", "clarketm"), _entry("", "trusted", "airbender")],
        {"cluster": "trusted"},
        _users("airbender"),
    ),
    (
        "no matching orgrepo or cluster",
        [_entry("notIstio", "notTrusted", "clarketm")],
        {**ISTIO, "cluster": "trusted"},
        None,
    ),
    (
        "use org/repo from extra refs",
        [_entry("*", "", "clarketm"), _entry("istio/istio", "", "skywalker")],
        EXTRA_ISTIO,
        _users("skywalker"),
    ),
    (
        "use only org/repo from first extra refs entry",
        [
            _entry("*", "", "clarketm"),
            _entry("istio/istio", "", "skywalker"),
            _entry("other-org/other-repo", "", "anakin"),
        ],
        EXTRA_TWO,
        _users("skywalker"),
    ),
]


@pytest.mark.parametrize(
    ("entries", "spec", "want"),
    [case[1:] for case in DEFAULT_RERUN_AUTH_CASES],
    ids=[case[0] for case in DEFAULT_RERUN_AUTH_CASES],
)
def test_default_rerun_auth_configs_get_rerun_auth_config(
    entries: list[dict[str, Any]], spec: dict[str, Any], want: dict[str, Any] | None
) -> None:
    """Ports TestDefaultRerunAuthConfigsGetRerunAuthConfig (pkg/config/config_test.go): the
    list form, the last matching entry winning; all 15 cases."""
    assert _config_level({"default_rerun_auth_configs": entries}, spec) == want


async def test_latest_rerun_of_a_periodic_ignores_its_refs(tmp_path: Path) -> None:
    """TestLatestRerun's "Handler returns Periodic ProwJob" (cmd/deck/rerun_test.go): the old
    periodic ProwJob carries refs, and Deck's PeriodicSpec builds the new one from the current
    periodic alone, so the rerun succeeds, with no refs."""
    periodic = (
        "periodics:\n- name: whoa\n  interval: 1h\n  labels: {foo: foo}\n"
        "  rerun_auth_config: {github_users: [authorized]}\n"
        "  spec: {containers: [{image: 'alpine:3.20'}]}\n"
    )
    old = _old_whoa("authorized")
    old["spec"]["type"] = "periodic"
    service, _ = await _service_with(tmp_path, "{}\n", periodic, old)
    identity = Identity(user="authorized", authenticated=True)
    new = (await service.rerun("wowsuch", RerunMode.LATEST, identity, hidden_repos=None)).prowjob
    assert new["spec"]["type"] == "periodic"
    assert "refs" not in new["spec"]
    assert new["metadata"]["labels"]["foo"] == "foo"
