"""Prow's config defaulting (reference §3.4) as the loader applies it, with literal expectations."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from prow_graphql.prow.config import (
    ConfigEntry,
    ConfigErrors,
    DeckConfig,
    Preset,
    ProwConfig,
    merge_defaults,
    parse_prow_config,
)
from prow_graphql.prow.jobs import Periodic, Postsubmit, Presubmit, default_trigger_for
from prow_graphql.prow.loader import ConfigLoader, JobIndex

SPEC = "spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}"


def write_tree(root: Path, config: str, jobs: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(dedent(config))
    for name, text in jobs.items():
        path = root / "jobs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    (root / "jobs").mkdir(exist_ok=True)


def load(root: Path, config: str, jobs: dict[str, str] | None = None) -> JobIndex:
    write_tree(root, config, jobs or {})
    return ConfigLoader(root / "config.yaml", root / "jobs").load()


def load_errors(root: Path, config: str, jobs: dict[str, str] | None = None) -> list[str]:
    write_tree(root, config, jobs or {})
    with pytest.raises(ConfigErrors) as info:
        ConfigLoader(root / "config.yaml", root / "jobs").load()
    return [str(e) for e in info.value.errors]


ONE_OF_EACH = f"""
presubmits:
  org/repo:
  - name: pre
    {SPEC}
postsubmits:
  org/repo:
  - name: post
    {SPEC}
periodics:
- name: peri
  cron: "0 * * * *"
  {SPEC}
"""


# --- JobBase and per-type defaults --------------------------------------------------------------


def test_job_fields_get_prows_defaults(tmp_path: Path) -> None:
    index = load(tmp_path, "pod_namespace: test-pods\n", {"jobs.yaml": ONE_OF_EACH})

    (pre,) = index.presubmits("org/repo")
    (post,) = index.postsubmits("org/repo")
    (peri,) = index.periodics
    for job in (pre, post, peri):
        assert job.agent == "kubernetes"
        assert job.cluster == "default"
        assert job.namespace == "test-pods"
        assert job.decorate is False
        assert job.decoration_config is None
        assert job.prowjob_defaults == {"tenant_id": "GlobalDefaultID"}
        assert job.max_concurrency == 0
        assert job.source_path == str(tmp_path / "jobs" / "jobs.yaml")
    assert pre.context == "pre"
    assert pre.rerun_command == "/test pre"
    assert pre.trigger == default_trigger_for("pre")
    assert (pre.always_run, pre.optional, pre.skip_report) == (False, False, False)
    assert post.context == "post"
    assert post.always_run is None  # unset: Prow's "run unless change filters say otherwise"
    assert isinstance(peri, Periodic)
    assert not hasattr(peri, "context")


def test_namespace_null_or_empty_becomes_pod_namespace_and_others_are_kept(tmp_path: Path) -> None:
    jobs = f"""
    presubmits:
      org/repo:
      - {{name: a, namespace: "", {SPEC}}}
      - {{name: b, namespace: null, {SPEC}}}
      - {{name: c, cluster: build-2, context: ci/prow/c, agent: kubernetes, {SPEC}}}
    """
    index = load(tmp_path, "pod_namespace: test-pods\n", {"jobs.yaml": jobs})
    a, b, c = index.presubmits("org/repo")
    assert (a.namespace, b.namespace) == ("test-pods", "test-pods")
    assert (c.cluster, c.context) == ("build-2", "ci/prow/c")


def test_namespaces_default_to_default(tmp_path: Path) -> None:
    index = load(tmp_path, "{}\n", {"jobs.yaml": ONE_OF_EACH})
    assert index.config.prowjob_namespace == "default"
    assert index.config.pod_namespace == "default"
    assert index.presubmits("org/repo")[0].namespace == "default"


def test_explicit_trigger_and_rerun_command_are_kept(tmp_path: Path) -> None:
    jobs = f"""
    presubmits:
      org/repo:
      - name: e2e
        trigger: "(?m)^/(test|run) e2e$"
        rerun_command: /run e2e
        {SPEC}
    """
    (job,) = load(tmp_path, "{}\n", {"jobs.yaml": jobs}).presubmits("org/repo")
    assert (job.trigger, job.rerun_command) == ("(?m)^/(test|run) e2e$", "/run e2e")
    assert job.trigger_matches("/run e2e")
    assert not job.trigger_matches("/test pull-e2e")


def test_default_trigger_regex_is_prows() -> None:
    """Prow's DefaultTriggerFor (pkg/config/config.go), the name not escaped (§8.8)."""
    assert default_trigger_for("pull-a.b") == r"(?m)^/test( | .* )pull-a.b,?($|\s.*)"


@pytest.mark.parametrize(
    ("comment", "matches"),
    [
        ("/test pull-a.b", True),
        ("/test other pull-a.b", True),
        ("/test pull-a.b, other", True),
        ("/test x y pull-a.b z", True),
        ("thanks!\n/test pull-a.b\nplease", True),
        ("/test pull-a.b\r\n", True),
        ("/test pull-a.bc", False),
        ("/test pull-aXb", True),  # Prow does not escape the name: the dot matches anything
        ("/test other,pull-a.b", False),
        ("please /test pull-a.b", False),  # not at the start of a line
        ("/retest", False),
        ("/test all", False),
        ("/testpull-a.b", False),
    ],
)
def test_default_trigger_matches_test_commands(comment: str, matches: bool) -> None:
    job = Presubmit(name="pull-a.b", source_path="x", trigger=default_trigger_for("pull-a.b"))
    assert job.trigger_matches(comment) is matches


# --- decoration -------------------------------------------------------------------------------

DECORATION_CONFIG = """
decorate_all_jobs: true
plank:
  default_decoration_config_entries:
  - config:
      timeout: 1h
      grace_period: 10s
      utility_images: {clonerefs: c1, initupload: i1, entrypoint: e1, sidecar: s1}
      gcs_configuration: {bucket: b1, path_strategy: explicit}
  - repo: org
    config:
      timeout: 2h
      utility_images: {clonerefs: c2}
  - repo: org/repo
    cluster: build
    config:
      gcs_configuration: {bucket: b3}
  - repo: other/repo
    config: {timeout: 9h}
  - cluster: other-cluster
    config: {grace_period: 99s}
"""


OWN_IMAGES = "{clonerefs: c, initupload: i, entrypoint: e, sidecar: s}"


def test_decoration_merges_matching_entries_in_order_then_the_job(tmp_path: Path) -> None:
    jobs = f"""
    presubmits:
      org/repo:
      - name: on-build
        cluster: build
        decoration_config:
          utility_images: {{initupload: ijob}}
          resources: {{clonerefs: {{requests: {{cpu: 100m}}}}}}
          ssh_key_secrets: [key]
          gcs_credentials_secret: ""
          sparse_checkout_files: []
        {SPEC}
      - name: on-default
        {SPEC}
      - name: not-decorated
        decorate: false
        decoration_config:
          timeout: 5m
          utility_images: {OWN_IMAGES}
          gcs_configuration: {{bucket: own, path_strategy: explicit}}
        {SPEC}
    """
    on_build, on_default, plain = load(tmp_path, DECORATION_CONFIG, {"jobs.yaml": jobs}).presubmits(
        "org/repo"
    )

    assert on_build.decorate is True
    assert on_build.decoration_config == {
        "timeout": "2h",
        "grace_period": "10s",
        "utility_images": {
            "clonerefs": "c2",
            "initupload": "ijob",
            "entrypoint": "e1",
            "sidecar": "s1",
        },
        "gcs_configuration": {"bucket": "b3", "path_strategy": "explicit"},
        "resources": {"clonerefs": {"requests": {"cpu": "100m"}}},
        "ssh_key_secrets": ["key"],
        "gcs_credentials_secret": "",  # a set *string wins even when empty (§8.3)
        "sparse_checkout_files": [],  # a slice: empty is unset, and no default has one
    }
    assert on_default.decoration_config == {
        "timeout": "2h",
        "grace_period": "10s",
        "utility_images": {
            "clonerefs": "c2",
            "initupload": "i1",
            "entrypoint": "e1",
            "sidecar": "s1",
        },
        "gcs_configuration": {"bucket": "b1", "path_strategy": "explicit"},
    }
    # decorate: false keeps the job's own block, unmerged (plank decorates when it is set)
    assert (plain.decorate, plain.decoration_config) == (
        False,
        {
            "timeout": "5m",
            "utility_images": {
                "clonerefs": "c",
                "initupload": "i",
                "entrypoint": "e",
                "sidecar": "s",
            },
            "gcs_configuration": {"bucket": "own", "path_strategy": "explicit"},
        },
    )


def test_decorate_false_with_a_partial_block_is_refused_as_prow_does(tmp_path: Path) -> None:
    """Prow validates any non-nil decoration_config, and an unmerged partial one fails."""
    block = "decorate: false, decoration_config: {timeout: 5m}"
    jobs = f"periodics:\n- {{name: p, interval: 1h, {block}, {SPEC}}}\n"
    with pytest.raises(ConfigErrors, match="utility image config is not specified"):
        load(tmp_path, DECORATION_CONFIG, {"jobs.yaml": jobs})


def test_decorate_true_decorates_without_decorate_all_jobs(tmp_path: Path) -> None:
    config = DECORATION_CONFIG.replace("decorate_all_jobs: true", "decorate_all_jobs: false")
    jobs = f"""
    periodics:
    - {{name: decorated, decorate: true, interval: 1h, {SPEC}}}
    - {{name: plain, interval: 1h, {SPEC}}}
    """
    decorated, plain = load(tmp_path, config, {"jobs.yaml": jobs}).periodics
    assert decorated.decoration_config == {
        "timeout": "1h",
        "grace_period": "10s",
        "utility_images": {
            "clonerefs": "c1",
            "initupload": "i1",
            "entrypoint": "e1",
            "sidecar": "s1",
        },
        "gcs_configuration": {"bucket": "b1", "path_strategy": "explicit"},
    }
    assert (plain.decorate, plain.decoration_config) == (False, None)


def test_periodics_match_decoration_entries_by_their_first_extra_ref(tmp_path: Path) -> None:
    jobs = f"""
    periodics:
    - name: with-ref
      interval: 1h
      cluster: build
      extra_refs: [{{org: org, repo: repo, base_ref: main}}, {{org: other, repo: repo}}]
      {SPEC}
    - name: without-ref
      interval: 1h
      {SPEC}
    """
    with_ref, without_ref = load(tmp_path, DECORATION_CONFIG, {"jobs.yaml": jobs}).periodics
    assert with_ref.decoration_config is not None
    assert with_ref.decoration_config["gcs_configuration"] == {
        "bucket": "b3",
        "path_strategy": "explicit",
    }
    assert with_ref.decoration_config["timeout"] == "2h"
    assert without_ref.decoration_config == {
        "timeout": "1h",
        "grace_period": "10s",
        "utility_images": {
            "clonerefs": "c1",
            "initupload": "i1",
            "entrypoint": "e1",
            "sidecar": "s1",
        },
        "gcs_configuration": {"bucket": "b1", "path_strategy": "explicit"},
    }


def test_old_map_form_becomes_entries_star_then_orgs_then_repos() -> None:
    config = parse_prow_config(
        {
            "plank": {
                "default_decoration_configs": {
                    "org/repo": {"timeout": "3h"},
                    "org": {"timeout": "2h", "grace_period": "20s"},
                    "*": {"timeout": "1h", "grace_period": "10s", "skip_cloning": False},
                    "another": {"timeout": "9h"},
                }
            }
        },
        "config.yaml",
    )
    entries = config.plank.default_decoration_config_entries
    assert [(e.repo, e.cluster) for e in entries] == [
        ("*", ""),
        ("another", ""),
        ("org", ""),
        ("org/repo", ""),
    ]
    assert config.plank.decoration_config_for("org/repo", "default", {"grace_period": "1s"}) == {
        "timeout": "3h",
        "grace_period": "1s",
        "skip_cloning": False,
    }


def test_removed_singular_default_decoration_config_is_ignored() -> None:
    """Prow dropped plank.default_decoration_config in 2020; its decoder ignores the key."""
    config = parse_prow_config(
        {
            "plank": {
                "default_decoration_config": {"timeout": "1h"},
                "default_decoration_configs": {"org": {"timeout": "2h"}},
            }
        },
        "config.yaml",
    )
    entries = config.plank.default_decoration_config_entries
    assert [(e.repo, dict(e.config)) for e in entries] == [("org", {"timeout": "2h"})]
    alone = parse_prow_config({"plank": {"default_decoration_config": {"timeout": "1h"}}}, "c")
    assert alone.plank.default_decoration_config("org/repo", "default") is None


@pytest.mark.parametrize(
    ("plank", "expected"),
    [
        (
            {
                "default_decoration_configs": {"*": {"timeout": "1h"}},
                "default_decoration_config_entries": [{"config": {"timeout": "2h"}}],
            },
            "are mutually exclusive; use only the entries list",
        ),
    ],
)
def test_decoration_forms_are_mutually_exclusive(plank: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_prow_config({"plank": plank}, "/etc/config/config.yaml")
    (error,) = info.value.errors
    assert error.path == "/etc/config/config.yaml"
    assert expected in str(error)


def test_merge_defaults_nested_members_merge_one_level_and_others_replace() -> None:
    default = {
        "utility_images": {"clonerefs": "c", "sidecar": "s"},
        "ssh_key_secrets": ["a", "b"],
        "censoring_options": {"censoring_concurrency": 1, "include_directories": ["x"]},
    }
    job = {
        "utility_images": {"sidecar": "s2", "clonerefs": ""},
        "ssh_key_secrets": ["c"],
        "censoring_options": {"include_directories": ["y"]},
        "skip_cloning": False,
        "timeout": None,
    }
    assert merge_defaults(job, default, ["utility_images", "censoring_options"]) == {
        "utility_images": {"clonerefs": "c", "sidecar": "s2"},
        "ssh_key_secrets": ["c"],
        "censoring_options": {"censoring_concurrency": 1, "include_directories": ["y"]},
        "skip_cloning": False,
    }
    assert merge_defaults(None, None) is None
    assert merge_defaults({"a": 1}, None) == {"a": 1}


# --- prowjob_defaults -------------------------------------------------------------------------

PROWJOB_DEFAULTS_CONFIG = """
prowjob_default_entries:
- config:
    tenant_id: t-all
    resultstore_config: {project_id: p1}
- repo: org
  config:
    tenant_id: t-org
- repo: org/repo
  cluster: build
  config:
    tenant_id: ""
"""


def test_prowjob_defaults_merge_entries_then_the_job(tmp_path: Path) -> None:
    jobs = f"""
    presubmits:
      org/repo:
      - name: own
        prowjob_defaults: {{resultstore_config: {{project_id: pjob}}}}
        {SPEC}
      - name: on-build
        cluster: build
        {SPEC}
      other/repo:
      - name: other
        {SPEC}
    """
    index = load(tmp_path, PROWJOB_DEFAULTS_CONFIG, {"jobs.yaml": jobs})
    own, on_build = index.presubmits("org/repo")
    (other,) = index.presubmits("other/repo")
    assert own.prowjob_defaults == {
        "tenant_id": "t-org",
        "resultstore_config": {"project_id": "pjob"},
    }
    # an empty tenant_id in a later entry does not unset the earlier one
    assert on_build.prowjob_defaults == {
        "tenant_id": "t-org",
        "resultstore_config": {"project_id": "p1"},
    }
    assert other.prowjob_defaults == {
        "tenant_id": "t-all",
        "resultstore_config": {"project_id": "p1"},
    }


def test_tenant_id_falls_back_to_global_default_id() -> None:
    config = ProwConfig(prowjob_default_entries=(ConfigEntry("", "", {"tenant_id": ""}),))
    assert config.prowjob_defaults_for("org/repo", "default", None) == {
        "tenant_id": "GlobalDefaultID"
    }
    assert config.prowjob_defaults_for("org/repo", "default", {"tenant_id": "mine"}) == {
        "tenant_id": "mine"
    }


# --- presets ----------------------------------------------------------------------------------

PRESETS_CONFIG = """
plank:
  default_decoration_config_entries:
  - config:
      utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}
      gcs_configuration: {bucket: b, path_strategy: explicit}
presets:
- env: [{name: EVERYWHERE, value: "1"}]
- labels: {preset-a: "true"}
  env: [{name: A, value: a}]
  volumes: [{name: vol-a, emptyDir: {}}]
  volumeMounts: [{name: vol-a, mountPath: /a}]
  tolerations: [{key: dedicated, operator: Equal, value: ci, effect: NoSchedule}]
- labels: {preset-b: "true", preset-c: "true"}
  env: [{name: BC, value: bc}]
"""


def test_presets_append_env_mounts_volumes_tolerations(tmp_path: Path) -> None:
    jobs = """
    presubmits:
      org/repo:
      - name: both
        decorate: true
        labels: {preset-a: "true", preset-b: "true", preset-c: "true"}
        spec:
          initContainers: [{name: init, image: alpine:3.20, restartPolicy: Always}]
          containers:
          - name: test
            image: golang:1.23
            command: [make]
            env: [{name: OWN, value: own}]
          - name: helper
            image: alpine:3.20
            command: [sleep, infinity]
          volumes: [{name: own-vol, emptyDir: {}}]
      - name: only-a
        labels: {preset-a: "true"}
        spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}
      - name: none
        labels: {preset-a: "false"}
        spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}
    """
    both, only_a, none = load(tmp_path, PRESETS_CONFIG, {"jobs.yaml": jobs}).presubmits("org/repo")
    toleration = {"key": "dedicated", "operator": "Equal", "value": "ci", "effect": "NoSchedule"}
    assert both.spec == {
        "initContainers": [{"name": "init", "image": "alpine:3.20", "restartPolicy": "Always"}],
        "containers": [
            {
                "name": "test",
                "image": "golang:1.23",
                "command": ["make"],
                "env": [
                    {"name": "OWN", "value": "own"},
                    {"name": "EVERYWHERE", "value": "1"},
                    {"name": "A", "value": "a"},
                    {"name": "BC", "value": "bc"},
                ],
                "volumeMounts": [{"name": "vol-a", "mountPath": "/a"}],
            },
            {
                "name": "helper",
                "image": "alpine:3.20",
                "command": ["sleep", "infinity"],
                "env": [
                    {"name": "EVERYWHERE", "value": "1"},
                    {"name": "A", "value": "a"},
                    {"name": "BC", "value": "bc"},
                ],
                "volumeMounts": [{"name": "vol-a", "mountPath": "/a"}],
            },
        ],
        "volumes": [{"name": "own-vol", "emptyDir": {}}, {"name": "vol-a", "emptyDir": {}}],
        "tolerations": [toleration],
    }
    assert only_a.spec is not None
    assert [e["name"] for e in only_a.spec["containers"][0]["env"]] == ["EVERYWHERE", "A"]
    assert none.spec == {
        "containers": [
            {
                "image": "alpine:3.20",
                "command": ["true"],
                "env": [{"name": "EVERYWHERE", "value": "1"}],
            }
        ]
    }


def test_presets_from_job_files_apply_to_jobs_in_other_files(tmp_path: Path) -> None:
    files = {
        "a/presets.yaml": "presets:\n- labels: {preset-x: 'true'}\n  env: [{name: X, value: x}]\n",
        "b/jobs.yaml": f"periodics:\n- {{name: p, interval: 1h, labels: {{preset-x: 'true'}}, "
        f"{SPEC}}}\n",
    }
    index = load(tmp_path, "{}\n", files)
    (periodic,) = index.periodics
    assert periodic.spec is not None
    assert periodic.spec["containers"][0]["env"] == [{"name": "X", "value": "x"}]
    assert [p.labels for p in index.config.presets] == [{"preset-x": "true"}]


def test_jobs_sharing_a_yaml_anchor_each_get_presets_once(tmp_path: Path) -> None:
    jobs = """
    presubmits:
      org/repo:
      - name: first
        labels: {preset-a: "true"}
        spec: &spec
          containers: [{image: 'alpine:3.20', command: ['true'], env: [{name: OWN, value: o}]}]
      - name: second
        labels: {preset-a: "true"}
        spec: *spec
    """
    first, second = load(tmp_path, PRESETS_CONFIG, {"jobs.yaml": jobs}).presubmits("org/repo")
    for job in (first, second):
        assert job.spec is not None
        assert [e["name"] for e in job.spec["containers"][0]["env"]] == ["OWN", "EVERYWHERE", "A"]


@pytest.mark.parametrize(
    ("spec", "clash"),
    [
        (
            "{containers: [{image: x, command: [c], env: [{name: A, value: mine}]}]}",
            "adds env var 'A', which container '(unnamed)' already has",
        ),
        (
            "{containers: [{name: test, image: x, command: [c], "
            "volumeMounts: [{name: vol-a, mountPath: /mine}]}], volumes: [{name: other}]}",
            "adds volume mount 'vol-a', which container 'test' already has",
        ),
        (
            "{containers: [{image: x, command: [c]}], volumes: [{name: vol-a, emptyDir: {}}]}",
            "adds volume 'vol-a', which the pod spec already has",
        ),
        (
            "{containers: [{image: x, command: [c]}], tolerations: "
            "[{key: dedicated, operator: Equal, value: ci, effect: NoSchedule}]}",
            "adds toleration {'key': 'dedicated', 'operator': 'Equal', 'value': 'ci', "
            "'effect': 'NoSchedule'}, which the pod spec already has",
        ),
    ],
)
def test_preset_clashes_are_errors_naming_file_job_and_name(
    tmp_path: Path, spec: str, clash: str
) -> None:
    jobs = f"""
    periodics:
    - name: clashing-job
      interval: 1h
      labels: {{preset-a: "true"}}
      spec: {spec}
    """
    (error,) = load_errors(tmp_path, PRESETS_CONFIG, {"clash.yaml": jobs})
    assert error.startswith(f"file {tmp_path / 'jobs' / 'clash.yaml'}, job 'clashing-job': ")
    assert f"preset (preset-a: true) from {tmp_path / 'config.yaml'} {clash}" in error
    assert "remove it from the job or" in error


def test_two_presets_adding_the_same_env_name_clash(tmp_path: Path) -> None:
    config = """
    presets:
    - labels: {one: "1"}
      env: [{name: SAME, value: "1"}]
    - labels: {two: "2"}
      env: [{name: SAME, value: "2"}]
    """
    jobs = f"periodics:\n- {{name: p, interval: 1h, labels: {{one: '1', two: '2'}}, {SPEC}}}\n"
    (error,) = load_errors(tmp_path, config, {"p.yaml": jobs})
    assert "job 'p'" in error
    assert "preset (two: 2)" in error
    assert "adds env var 'SAME'" in error


def test_preset_application_does_not_change_cached_yaml_across_reloads(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        PRESETS_CONFIG,
        {"jobs.yaml": f"periodics:\n- {{name: p, interval: 1h, {SPEC}}}\n"},
    )
    loader = ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs")
    loader.load()
    (tmp_path / "config.yaml").write_text(dedent(PRESETS_CONFIG) + "decorate_all_jobs: true\n")
    index = loader.reload()
    assert index is not None
    assert loader.last_parsed == (str(tmp_path / "config.yaml"),)
    (periodic,) = index.periodics
    assert periodic.decorate is True
    assert periodic.spec is not None
    assert periodic.spec["containers"][0]["env"] == [{"name": "EVERYWHERE", "value": "1"}]


def test_preset_matching_needs_every_label() -> None:
    preset = Preset(labels={"a": "1", "b": "2"})
    assert preset.applies_to({"a": "1", "b": "2", "c": "3"})
    assert not preset.applies_to({"a": "1"})
    assert not preset.applies_to({"a": "1", "b": "3"})
    assert Preset().applies_to({})


# --- config.yaml keys -------------------------------------------------------------------------


def test_config_keys_are_parsed() -> None:
    config = parse_prow_config(
        {
            "prowjob_namespace": "prow-jobs",
            "pod_namespace": "test-pods",
            "decorate_all_jobs": True,
            "github": {"link_url": "https://github.example.com/"},
            "scheduler": {"enabled": True},
            "plank": {
                "job_url_template": "https://prow.example.com/{{.Spec.Job}}",
                "job_url_prefix_config": {"*": "https://prow.example.com/view/"},
                "jobURLPrefixDisableAppendStorageProvider": True,
                "job_queue_capacities": {"gpu": 2},
            },
            "deck": {"hidden_repos": ["org/secret"]},
        },
        "config.yaml",
    )
    assert config.prowjob_namespace == "prow-jobs"
    assert config.pod_namespace == "test-pods"
    assert config.decorate_all_jobs is True
    assert config.github_link_url == "https://github.example.com"
    assert config.scheduler_enabled is True
    assert config.plank.job_url_template == "https://prow.example.com/{{.Spec.Job}}"
    assert config.plank.job_url_prefix_config == {"*": "https://prow.example.com/view/"}
    assert config.plank.job_url_prefix_disable_append_storage_provider is True
    assert config.plank.job_queue_capacities == {"gpu": 2}
    assert config.deck.hidden_repos == ("org/secret",)


def test_config_defaults_when_keys_are_absent() -> None:
    config = parse_prow_config({}, "config.yaml")
    assert config == ProwConfig()
    assert (config.prowjob_namespace, config.pod_namespace) == ("default", "default")
    assert config.github_link_url == "https://github.com"
    assert config.scheduler_enabled is False
    assert config.plank.job_url_prefix_disable_append_storage_provider is False


def test_rerun_auth_map_becomes_entries_in_prow_order() -> None:
    config = parse_prow_config(
        {
            "deck": {
                "rerun_auth_configs": {
                    "org/repo": {"github_users": ["alice"]},
                    "*": {"github_orgs": ["everyone"]},
                    "org": {"allow_anyone": True},
                    "": {"github_users": ["root"]},
                }
            }
        },
        "config.yaml",
    )
    entries = config.deck.rerun_auth_config_entries
    # Deck's defaultRerunAuthMapToSlice: "" first, then "*", orgs, repos
    assert [(e.repo, dict(e.config)) for e in entries] == [
        ("", {"github_users": ["root"]}),
        ("*", {"github_orgs": ["everyone"]}),
        ("org", {"allow_anyone": True}),
        ("org/repo", {"github_users": ["alice"]}),
    ]
    # the last matching entry wins, no merging
    assert config.deck.rerun_auth_config_for("org/repo", "default") == {"github_users": ["alice"]}
    assert config.deck.rerun_auth_config_for("org/other", "default") == {"allow_anyone": True}
    assert config.deck.rerun_auth_config_for("x/y", "default") == {"github_orgs": ["everyone"]}


def test_default_rerun_auth_configs_use_the_plural_inner_key() -> None:
    config = parse_prow_config(
        {
            "deck": {
                "default_rerun_auth_configs": [
                    {
                        "cluster": "*",
                        "rerun_auth_configs": {"github_team_slugs": [{"org": "o", "slug": "s"}]},
                    },
                    {"cluster": "s390x", "rerun_auth_configs": {"github_users": ["bob"]}},
                ]
            }
        },
        "config.yaml",
    )
    assert config.deck.rerun_auth_config_entries == (
        ConfigEntry("", "*", {"github_team_slugs": [{"org": "o", "slug": "s"}]}),
        ConfigEntry("", "s390x", {"github_users": ["bob"]}),
    )
    assert DeckConfig().rerun_auth_config_for("a/b", "default") is None


@pytest.mark.parametrize(
    ("deck", "expected"),
    [
        (
            {
                "rerun_auth_configs": {"*": {"github_users": ["a"]}},
                "default_rerun_auth_configs": [{"rerun_auth_configs": {"github_users": ["b"]}}],
            },
            "deck.rerun_auth_configs and deck.default_rerun_auth_configs are mutually exclusive",
        ),
        (
            {"rerun_auth_configs": {"org": {"allow_anyone": True, "github_users": ["a"]}}},
            "deck rerun auth config for repo 'org': allow_anyone: true cannot be combined",
        ),
    ],
)
def test_deck_rerun_auth_errors(deck: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_prow_config({"deck": deck}, "config.yaml")
    assert expected in str(info.value)


def test_wrong_types_in_config_yaml_are_reported_together() -> None:
    with pytest.raises(ConfigErrors) as info:
        parse_prow_config(
            {"pod_namespace": [5], "plank": {"job_url_prefix_config": {"*": {}}}, "github": []},
            "/cfg/config.yaml",
        )
    messages = [str(e) for e in info.value.errors]
    assert messages == [
        "file /cfg/config.yaml: github: expected a mapping, got a list []; fix the value",
        "file /cfg/config.yaml: pod_namespace: expected a string, got a list [5]; fix the value",
        "file /cfg/config.yaml: plank.job_url_prefix_config.*: expected a string, got a mapping "
        "{}; fix the value",
    ]


def test_postsubmit_and_presubmit_are_distinct_types(tmp_path: Path) -> None:
    index = load(tmp_path, "{}\n", {"jobs.yaml": ONE_OF_EACH})
    assert isinstance(index.presubmits("org/repo")[0], Presubmit)
    assert isinstance(index.postsubmits("org/repo")[0], Postsubmit)


@pytest.mark.parametrize(
    ("given_repo", "given_cluster", "org_repo", "cluster", "want"),
    [
        ("", "", "org/repo", "cluster", True),
        ("*", "", "org/repo", "cluster", True),
        ("org", "", "org/repo", "cluster", True),
        ("org/repo", "", "org/repo", "cluster", True),
        ("some.org", "", "some-review.org/repo", "cluster", True),
        ("some.org/repo", "", "some-review.org/repo", "cluster", True),
        ("http://org/repo", "", "http://org/repo", "cluster", True),
        ("https://org/repo", "", "https://org/repo", "cluster", True),
        ("org", "", "http://org/repo", "cluster", True),
        ("org", "", "https://org/repo", "cluster", True),
        ("some.org", "", "https://some-review.org/repo", "cluster", True),
        ("org/repo", "", "http://org/repo", "cluster", True),
        ("org/repo", "", "https://org/repo", "cluster", True),
        ("org2", "", "org/repo", "cluster", False),
        ("org/repo2", "", "org/repo", "cluster", False),
        ("some.other.org", "", "some.other-review.org", "cluster", False),
        ("", "", "org/repo", "cluster", True),
        ("", "*", "org/repo", "cluster", True),
        ("", "cluster", "org/repo", "cluster", True),
        ("", "cluster2", "org/repo", "cluster", False),
    ],
)
def test_default_entry_matches(
    given_repo: str, given_cluster: str, org_repo: str, cluster: str, want: bool
) -> None:
    """Go's TestDefaultMatches (pkg/config/config_test.go)."""
    assert ConfigEntry(given_repo, given_cluster, {}).matches(org_repo, cluster) is want
