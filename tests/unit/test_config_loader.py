"""ConfigLoader and JobIndex: file discovery, merging, incremental reload, lookups."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from prow_graphql.errors import AmbiguousJob, JobNotFound
from prow_graphql.prow.jobs import Periodic, Postsubmit, Presubmit
from prow_graphql.prow.loader import ConfigErrors, ConfigLoader, JobCounts, JobIndex, load_job_index
from prow_graphql.prow.objects import ProwJobType

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "prow"
SPEC = "spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}"


def periodic_file(*names: str) -> str:
    return "periodics:\n" + "".join(f"- {{name: {n}, interval: 1h, {SPEC}}}\n" for n in names)


def bump(path: Path, text: str) -> None:
    """Rewrite a file and move its mtime on, so the change shows even on coarse clocks."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


@pytest.fixture
def example() -> JobIndex:
    return load_job_index(EXAMPLE / "config.yaml", EXAMPLE / "jobs")


# --- the project's example config -------------------------------------------------------------


def test_example_config_counts(example: JobIndex) -> None:
    assert example.counts == JobCounts(presubmits=10, postsubmits=3, periodics=3, repos=3)
    assert example.repos() == ("example-org/gadgets", "example-org/website", "example-org/widgets")
    assert example.generation == 1
    jobs = EXAMPLE / "jobs"
    assert example.files == (
        str(EXAMPLE / "config.yaml"),
        str(jobs / "example-org" / "gadgets" / "gadgets-jobs.yaml"),
        str(jobs / "example-org" / "website" / "website-presubmits.yaml"),
        str(jobs / "example-org" / "widgets" / "widgets-postsubmits.yaml"),
        str(jobs / "example-org" / "widgets" / "widgets-presubmits.yaml"),
        str(jobs / "periodics.yaml"),
    )
    assert example.config.pod_namespace == "test-pods"
    assert example.config.prowjob_namespace == "default"
    assert example.config.plank.job_url_prefix_config == {"*": "https://prow.example.com/view/"}
    assert len(example.config.presets) == 2


def test_example_presubmits_keep_config_order(example: JobIndex) -> None:
    assert [j.name for j in example.presubmits("example-org/widgets")] == [
        "pull-widgets-unit",
        "pull-widgets-lint",
        "pull-widgets-e2e",
        "pull-widgets-release-notes",
        "widgets-build",
    ]
    assert [j.name for j in example.postsubmits("example-org/widgets")] == [
        "widgets-build",
        "post-widgets-push-image",
    ]
    assert [p.name for p in example.periodics] == [
        "periodic-widgets-nightly-e2e",
        "periodic-cleanup-registry",
        "periodic-gadgets-flake-report",
    ]
    assert example.presubmits("nobody/nothing") == ()
    assert example.postsubmits("example-org/website") == ()


def test_example_jobs_are_defaulted(example: JobIndex) -> None:
    e2e = example.find(ProwJobType.PRESUBMIT, "example-org/widgets", "pull-widgets-e2e", "main")
    assert isinstance(e2e, Presubmit)
    assert e2e.run_if_changed == "^(cmd|pkg)/"
    assert e2e.namespace == "test-pods"
    assert e2e.decoration_config == {
        "gcs_configuration": {"bucket": "example-prow-artifacts", "path_strategy": "explicit"},
        "gcs_credentials_secret": "gcs-credentials",
        "utility_images": {
            "clonerefs": "us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v20250410-b8e0bd8d4",
            "initupload": "us-docker.pkg.dev/k8s-infra-prow/images/initupload:v20250410-b8e0bd8d4",
            "entrypoint": "us-docker.pkg.dev/k8s-infra-prow/images/entrypoint:v20250410-b8e0bd8d4",
            "sidecar": "us-docker.pkg.dev/k8s-infra-prow/images/sidecar:v20250410-b8e0bd8d4",
        },
        "grace_period": "15s",
        "timeout": "90m",
    }
    assert [(e.name, e.value) for e in e2e.containers[0].env] == [
        ("E2E_PARALLEL", "4"),
        ("GOCACHE", "/cache/go-build"),
        ("GOMODCACHE", "/cache/go-mod"),
    ]
    gadgets = example.find(ProwJobType.PRESUBMIT, "example-org/gadgets", "pull-gadgets-e2e", "main")
    assert gadgets.decoration_config is not None
    assert gadgets.decoration_config["timeout"] == "3h"  # the repo's own default entry
    flake = example.periodic("periodic-gadgets-flake-report")
    assert flake is not None
    assert (flake.decorate, flake.decoration_config) == (False, None)


# --- JobIndex.find ----------------------------------------------------------------------------


def test_find_by_type(example: JobIndex) -> None:
    pre = example.find(ProwJobType.PRESUBMIT, "example-org/widgets", "widgets-build", "main")
    post = example.find(ProwJobType.POSTSUBMIT, "example-org/widgets", "widgets-build", "main")
    batch = example.find(ProwJobType.BATCH, "example-org/widgets", "widgets-build", "main")
    periodic = example.find(ProwJobType.PERIODIC, "ignored", "periodic-cleanup-registry", "x")
    assert (type(pre), type(post), type(periodic)) == (Presubmit, Postsubmit, Periodic)
    assert batch is pre
    assert post.source_path.endswith("widgets-postsubmits.yaml")
    assert periodic.name == "periodic-cleanup-registry"


def test_postsubmit_falls_back_to_a_presubmit_of_that_name(example: JobIndex) -> None:
    job = example.find(ProwJobType.POSTSUBMIT, "example-org/widgets", "pull-widgets-unit", "main")
    assert isinstance(job, Presubmit)
    assert job.name == "pull-widgets-unit"


def test_postsubmit_does_not_fall_back_when_a_postsubmit_exists_on_other_branches(
    example: JobIndex,
) -> None:
    with pytest.raises(JobNotFound) as info:
        example.find(ProwJobType.POSTSUBMIT, "example-org/widgets", "widgets-build", "dev")
    assert str(info.value) == (
        "Job widgets-build not found in config for example-org/widgets on branch 'dev': the "
        "postsubmit 'widgets-build' does not run against that branch. It is configured for: "
        f"branches ['^main$'] (in {EXAMPLE / 'jobs/example-org/widgets/widgets-postsubmits.yaml'})"
        ". Use a base_ref those branch filters accept."
    )


def test_find_respects_branches(example: JobIndex) -> None:
    job = example.find(
        ProwJobType.PRESUBMIT, "example-org/widgets", "pull-widgets-release-notes", "release-1.2"
    )
    assert job.name == "pull-widgets-release-notes"
    with pytest.raises(JobNotFound, match=r"on branch 'main': the presubmit"):
        example.find(
            ProwJobType.PRESUBMIT, "example-org/widgets", "pull-widgets-release-notes", "main"
        )
    with pytest.raises(JobNotFound, match="skip_branches"):
        example.find(ProwJobType.PRESUBMIT, "example-org/widgets", "widgets-build", "gh-pages")


def test_not_found_messages_say_what_to_do(example: JobIndex) -> None:
    with pytest.raises(JobNotFound) as info:
        example.find(ProwJobType.PRESUBMIT, "example-org/widgets", "pull-widgets-unt", "main")
    assert str(info.value) == (
        "Job pull-widgets-unt not found in config for example-org/widgets: no presubmit of "
        "example-org/widgets is named 'pull-widgets-unt'. Did you mean: pull-widgets-unit, "
        "pull-widgets-lint, pull-widgets-e2e?"
    )
    with pytest.raises(JobNotFound) as info:
        example.find(ProwJobType.PRESUBMIT, "example-org/widgets", "post-widgets-push-image", "m")
    assert "A postsubmit has that name: run it as a postsubmit." in str(info.value)
    with pytest.raises(JobNotFound) as info:
        example.find(ProwJobType.POSTSUBMIT, "example-org/nope", "x", "main")
    assert str(info.value) == (
        "Job x not found in config for example-org/nope: no postsubmit or presubmit of "
        "example-org/nope is named 'x'. example-org/nope has no presubmits or postsubmits at "
        "all; check org and repo."
    )
    with pytest.raises(JobNotFound) as info:
        example.find(ProwJobType.PRESUBMIT, "example-org/widgets", "periodic-cleanup-registry", "")
    assert "A periodic has that name: run it as a periodic." in str(info.value)
    with pytest.raises(JobNotFound) as info:
        example.find(ProwJobType.PERIODIC, "", "periodic-cleanup-registr", "")
    assert str(info.value) == (
        "Job periodic-cleanup-registr not found in config: no periodic is named "
        "'periodic-cleanup-registr'. Did you mean: periodic-cleanup-registry? Check the job "
        "name (periodics are looked up by name only)."
    )


def test_ambiguous_when_several_definitions_run_on_the_branch(tmp_path: Path) -> None:
    # Prow's duplicate check compares branch strings, so "main" and "^main$" pass validation,
    # yet both run on main.
    (tmp_path / "config.yaml").write_text("{}\n")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "a.yaml").write_text(
        f"presubmits:\n  org/repo:\n  - {{name: e2e, branches: [main], context: a, {SPEC}}}\n"
    )
    (jobs / "b.yaml").write_text(
        f"presubmits:\n  org/repo:\n  - {{name: e2e, branches: ['^main$'], context: b, {SPEC}}}\n"
    )
    index = ConfigLoader(tmp_path / "config.yaml", jobs).load()
    with pytest.raises(AmbiguousJob) as info:
        index.find(ProwJobType.PRESUBMIT, "org/repo", "e2e", "main")
    assert info.value.candidates == [
        f"{jobs / 'a.yaml'} (branches ['main'])",
        f"{jobs / 'b.yaml'} (branches ['^main$'])",
    ]
    assert str(info.value).startswith(
        "Job e2e is ambiguous for org/repo on branch 'main': 2 presubmit definitions match: "
    )
    assert str(info.value).endswith("Make their branch filters disjoint in the Prow config.")
    assert index.find(ProwJobType.PRESUBMIT, "org/repo", "e2e", "not-main-2").source_path == str(
        jobs / "a.yaml"
    )


def test_index_is_immutable(example: JobIndex) -> None:
    with pytest.raises(AttributeError, match="immutable"):
        example.generation = 5
    assert example.loaded_at.tzinfo is UTC
    assert example.loaded_at <= datetime.now(UTC)


# --- files ------------------------------------------------------------------------------------


def test_job_config_may_be_a_single_file_or_absent(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(periodic_file("in-config"))
    (tmp_path / "jobs.yaml").write_text(periodic_file("in-file"))
    only_config = ConfigLoader(tmp_path / "config.yaml").load()
    assert [p.name for p in only_config.periodics] == ["in-config"]
    both = ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs.yaml").load()
    assert [p.name for p in both.periodics] == ["in-config", "in-file"]
    assert both.periodics[0].source_path == str(tmp_path / "config.yaml")


def test_directory_walk_is_recursive_sorted_and_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    jobs = tmp_path / "jobs"
    (jobs / "b" / "deep").mkdir(parents=True)
    (jobs / "a").mkdir()
    (jobs / "b" / "deep" / "three.yml").write_text(periodic_file("three"))
    (jobs / "b" / "two.yaml").write_text(periodic_file("two"))
    (jobs / "a" / "one.yaml").write_text(periodic_file("one"))
    (jobs / "README.md").write_text("periodics: not yaml at all: [")
    (jobs / "..hidden.yaml").write_text("broken: [")
    (jobs / "config.yaml").symlink_to(tmp_path / "config.yaml")  # the config itself: skipped
    index = ConfigLoader(tmp_path / "config.yaml", jobs).load()
    # lexical order per directory, like Go's filepath.Walk: b/deep/ comes before b/two.yaml
    assert [p.name for p in index.periodics] == ["one", "three", "two"]
    assert index.files == (
        str(tmp_path / "config.yaml"),
        str(jobs / "a" / "one.yaml"),
        str(jobs / "b" / "deep" / "three.yml"),
        str(jobs / "b" / "two.yaml"),
    )


def test_gzip_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "zipped.yaml").write_bytes(gzip.compress(periodic_file("z").encode()))
    index = ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load()
    assert [p.name for p in index.periodics] == ["z"]


def test_dates_stay_strings(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        f"periodics:\n- {{name: p, interval: 1h, tags: [2024-01-01], {SPEC}}}\n"
    )
    (periodic,) = ConfigLoader(tmp_path / "config.yaml").load().periodics
    assert periodic.tags == ("2024-01-01",)


def test_config_yaml_job_sections_and_presets_merge_with_job_files(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "presets:\n- labels: {p: 'x'}\n  env: [{name: FROM_CONFIG, value: '1'}]\n"
        f"presubmits:\n  org/repo:\n  - {{name: a, {SPEC}}}\n"
    )
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "more.yaml").write_text(
        f"presubmits:\n  org/repo:\n  - {{name: b, labels: {{p: 'x'}}, {SPEC}}}\n"
        f"  org/other:\n  - {{name: c, {SPEC}}}\n"
    )
    index = ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load()
    assert [j.name for j in index.presubmits("org/repo")] == ["a", "b"]
    assert index.repos() == ("org/other", "org/repo")
    b = index.presubmits("org/repo")[1]
    assert [e.name for e in b.containers[0].env] == ["FROM_CONFIG"]


def make_configmap_mount(mount: Path, version: str, files: dict[str, str]) -> None:
    """Write `files` the way kubelet mounts a ConfigMap: ..<ts>/ dir, ..data link, file links."""
    versioned = mount / f"..{version}"
    versioned.mkdir(parents=True)
    for name, text in files.items():
        (versioned / name).write_text(text)
    tmp_link = mount / "..data_tmp"
    tmp_link.symlink_to(versioned.name)
    os.replace(tmp_link, mount / "..data")  # the atomic swap kubelet does
    for name in files:
        if not (mount / name).is_symlink():
            (mount / name).symlink_to(Path("..data") / name)


def test_configmap_mount_layout_is_followed_and_reloaded(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    mount = tmp_path / "job-config"
    make_configmap_mount(
        mount,
        "2026_01_01_00_00_00.1",
        {"a.yaml": periodic_file("a1"), "b.yaml": periodic_file("b")},
    )
    loader = ConfigLoader(tmp_path / "config.yaml", mount)
    first = loader.load()
    assert [p.name for p in first.periodics] == ["a1", "b"]
    assert first.files[1:] == (str(mount / "a.yaml"), str(mount / "b.yaml"))
    assert first.periodics[0].source_path == str(mount / "a.yaml")
    assert loader.reload() is None

    make_configmap_mount(
        mount,
        "2026_01_02_00_00_00.2",
        {"a.yaml": periodic_file("a2"), "b.yaml": periodic_file("b")},
    )
    second = loader.reload()
    assert second is not None
    assert second.generation == 2
    assert [p.name for p in second.periodics] == ["a2", "b"]
    # kubelet writes every key of the new version: both files have new inodes
    assert loader.last_parsed == (str(mount / "a.yaml"), str(mount / "b.yaml"))


def test_reload_reparses_only_changed_files(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for name in ("a", "b", "c"):
        (jobs / f"{name}.yaml").write_text(periodic_file(name))
    loader = ConfigLoader(config, jobs)
    first = loader.load()
    assert loader.parse_count == 4
    assert loader.current is first

    assert loader.reload() is None
    assert loader.parse_count == 4

    bump(jobs / "b.yaml", periodic_file("b", "b2"))
    second = loader.reload()
    assert second is not None
    assert loader.last_parsed == (str(jobs / "b.yaml"),)
    assert loader.parse_count == 5
    assert (second.generation, second.counts.periodics) == (2, 4)
    assert first.counts.periodics == 3  # the old snapshot is untouched

    (jobs / "c.yaml").unlink()
    (jobs / "d.yaml").write_text(periodic_file("d"))
    third = loader.reload()
    assert third is not None
    assert loader.last_parsed == (str(jobs / "d.yaml"),)
    assert [p.name for p in third.periodics] == ["a", "b", "b2", "d"]

    forced = loader.load()  # load() always gives a new snapshot, still from the cache
    assert forced.generation == 4
    assert len(loader.last_parsed) == 0


def test_a_failed_reload_keeps_the_last_good_snapshot(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "a.yaml").write_text(periodic_file("a"))
    (jobs / "b.yaml").write_text(periodic_file("b"))
    loader = ConfigLoader(config, jobs)
    good = loader.load()

    bump(jobs / "b.yaml", "periodics: [\n")
    with pytest.raises(ConfigErrors) as info:
        loader.reload()
    assert [e.path for e in info.value.errors] == [str(jobs / "b.yaml")]
    assert loader.current is good
    assert loader.reload() is None  # nothing changed since the failed attempt
    assert loader.last_parsed == (str(jobs / "b.yaml"),)

    bump(jobs / "b.yaml", periodic_file("b-fixed"))
    fixed = loader.reload()
    assert fixed is not None
    assert fixed.generation == 2
    assert loader.last_parsed == (str(jobs / "b.yaml"),)
    assert [p.name for p in fixed.periodics] == ["a", "b-fixed"]
    assert loader.current is fixed


def test_reload_notices_a_new_error_in_another_file_without_reparsing_the_rest(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "a.yaml").write_text(periodic_file("same"))
    (jobs / "b.yaml").write_text(periodic_file("other"))
    loader = ConfigLoader(config, jobs)
    loader.load()
    bump(jobs / "b.yaml", periodic_file("same"))
    with pytest.raises(ConfigErrors, match="periodic 'same' is defined more than once"):
        loader.reload()
    assert loader.last_parsed == (str(jobs / "b.yaml"),)


FULL_DECORATION = """plank:
  default_decoration_config_entries:
  - config:
      utility_images: {clonerefs: c, initupload: i, entrypoint: e, sidecar: s}
      gcs_configuration: {bucket: b, path_strategy: explicit}
"""


def test_jobs_of_unchanged_files_are_reused_until_config_or_presets_change(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("presets:\n- labels: {p: 'x'}\n  env: [{name: P, value: '1'}]\n")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "a.yaml").write_text(periodic_file("a"))
    (jobs / "b.yaml").write_text(periodic_file("b"))
    loader = ConfigLoader(config, jobs)
    first = loader.load()

    bump(jobs / "b.yaml", periodic_file("b", "b2"))
    second = loader.reload()
    assert second is not None
    assert second.periodic("a") is first.periodic("a")  # a.yaml: not parsed, not rebuilt
    assert second.periodic("b") is not first.periodic("b")

    (jobs / "c.yaml").write_text("presets:\n- labels: {q: 'y'}\n  env: [{name: Q, value: '1'}]\n")
    third = loader.reload()
    assert third is not None
    assert loader.last_parsed == (str(jobs / "c.yaml"),)
    assert third.periodic("a") is not second.periodic("a")  # new presets: everything rebuilt
    assert third.periodic("a") == second.periodic("a")

    bump(
        config,
        f"decorate_all_jobs: true\n{FULL_DECORATION}presets:\n- labels: {{p: 'x'}}\n  env: []\n",
    )
    fourth = loader.reload()
    assert fourth is not None
    a = fourth.periodic("a")
    assert a is not None
    assert a.decorate is True
