"""Finding config files as Prow does (§8.4): .prowignore, symlinks, supplemental prow configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prow_graphql.config_state import ConfigState
from prow_graphql.prow.loader import ConfigErrors, ConfigLoader

SPEC = "spec: {containers: [{image: 'my-image:latest', command: ['do-the-thing']}]}"
COMMON = {
    "foo_jobs.yaml": f"presubmits:\n  org/foo:\n  - {{name: foo_1, {SPEC}}}\n",
    "bar_jobs.yaml": f"presubmits:\n  org/bar:\n  - {{name: bar_1, {SPEC}}}\n",
    "subdir/baz_jobs.yaml": f"presubmits:\n  org/baz:\n  - {{name: baz_1, {SPEC}}}\n",
    "extraneous.md": "I am unrelated.",
}


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _names(tmp_path: Path, jobs: Path, **kwargs: object) -> set[str]:
    (tmp_path / "config.yaml").write_text("{}\n")
    index = ConfigLoader(tmp_path / "config.yaml", jobs, **kwargs).load()  # type: ignore[arg-type]
    return {job.name for repo in index.repos() for job in index.presubmits(repo)}


@pytest.mark.parametrize(
    ("ignore_files", "expected"),
    [
        ({}, {"foo_1", "bar_1", "baz_1"}),
        ({".prowignore": "*.yaml"}, set()),
        ({".prowignore": "*_ignored.yaml"}, {"foo_1", "bar_1", "baz_1"}),
        ({".prowignore": "bar_*.yaml"}, {"foo_1", "baz_1"}),
        ({".prowignore": "subdir/"}, {"foo_1", "bar_1"}),
        ({".prowignore": "subdir/\nbar_jobs.yaml"}, {"foo_1"}),
        ({"subdir/.prowignore": "*.yaml"}, {"foo_1", "bar_1"}),
        ({"subdir/.prowignore": "*.yaml", ".prowignore": "bar_jobs.yaml"}, {"foo_1"}),
    ],
)
def test_read_job_config_prowignore(
    tmp_path: Path, ignore_files: dict[str, str], expected: set[str]
) -> None:
    """Go's TestReadJobConfigProwIgnore (pkg/config/config_test.go)."""
    jobs = tmp_path / "jobs"
    _tree(jobs, {**COMMON, **ignore_files})
    assert _names(tmp_path, jobs) == expected


def test_editing_prowignore_reloads(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    _tree(jobs, COMMON)
    (tmp_path / "config.yaml").write_text("{}\n")
    loader = ConfigLoader(tmp_path / "config.yaml", jobs)
    assert loader.load().counts.presubmits == 3
    (jobs / ".prowignore").write_text("bar_*.yaml\n")
    index = loader.reload()
    assert index is not None and index.counts.presubmits == 2


def test_symlinked_directories_are_not_followed_but_symlinked_files_are(tmp_path: Path) -> None:
    """Go's filepath.Walk does not follow symlinks to directories."""
    outside = tmp_path / "outside"
    _tree(outside, {"linked_jobs.yaml": f"periodics:\n- {{name: linked, interval: 1h, {SPEC}}}\n"})
    jobs = tmp_path / "jobs"
    _tree(jobs, {"foo_jobs.yaml": COMMON["foo_jobs.yaml"]})
    os.symlink(outside, jobs / "linked-dir")
    os.symlink(outside / "linked_jobs.yaml", jobs / "file-link.yaml")
    (tmp_path / "config.yaml").write_text("{}\n")
    index = ConfigLoader(tmp_path / "config.yaml", jobs).load()
    assert [p.name for p in index.periodics] == ["linked"]  # through the file link only
    assert index.files[1:] == (str(jobs / "file-link.yaml"), str(jobs / "foo_jobs.yaml"))


def test_a_symlinked_root_yields_no_jobs_as_in_prow(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    _tree(jobs, COMMON)
    os.symlink(jobs, tmp_path / "link")
    assert _names(tmp_path, tmp_path / "link") == set()


def test_a_symlink_to_a_directory_with_a_yaml_name_is_an_error(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    _tree(jobs, COMMON)
    (tmp_path / "d").mkdir()
    os.symlink(tmp_path / "d", jobs / "dir.yaml")
    (tmp_path / "config.yaml").write_text("{}\n")
    with pytest.raises(ConfigErrors) as info:
        ConfigLoader(tmp_path / "config.yaml", jobs).load()
    (error,) = info.value.errors
    assert error.path == str(jobs / "dir.yaml")


def test_supplemental_prow_configs_may_set_only_what_prow_merges(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    _tree(jobs, COMMON)
    extra = tmp_path / "extra"
    _tree(
        extra,
        {
            "a_prowconfig.yaml": "tide: {queries: [{repos: [org/foo]}], merge_method: {}}\n",
            "nested/b_prowconfig.yaml": "branch-protection: {orgs: {}}\nunknown_key: 1\n",
            "ignored.yaml": "plank: {max_concurrency: 3}\n",  # not the suffix: not read
        },
    )
    assert _names(tmp_path, jobs, supplemental_dirs=[extra]) == {"foo_1", "bar_1", "baz_1"}

    (extra / "c_prowconfig.yaml").write_text(
        "plank: {max_concurrency: 3}\ntide: {sync_period: 1m}\n"
    )
    with pytest.raises(ConfigErrors) as info:
        _names(tmp_path, jobs, supplemental_dirs=[extra])
    (error,) = info.value.errors
    assert error.path == str(extra / "c_prowconfig.yaml")
    assert "may be set in a supplemental prow config; found plank, tide.sync_period" in str(error)


def test_a_reload_prow_would_refuse_keeps_the_last_good_config(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    _tree(jobs, {"p.yaml": f"periodics:\n- {{name: p, cron: '0 5 * * *', {SPEC}}}\n"})
    (tmp_path / "config.yaml").write_text("{}\n")
    state = ConfigState(tmp_path / "config.yaml", jobs)
    good = state.index
    (jobs / "p.yaml").write_text(f"periodics:\n- {{name: p, cron: '0 5 * * 8', {SPEC}}}\n")
    os.utime(jobs / "p.yaml", ns=(1, 1))  # a different mtime, whatever the clock says
    assert state.reload() is False
    assert state.index is good
    assert state.last_error is not None
    assert "invalid cron string 0 5 * * 8 in periodic p: end of range (8) above maximum (6)" in (
        state.last_error
    )


def test_supplemental_and_require_shas_flags(tmp_path: Path) -> None:
    from prow_graphql.settings import parse_serve_args

    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    base = ["--config-path", str(tmp_path / "config.yaml")]
    settings = parse_serve_args(
        [
            *base,
            "--supplemental-prow-config-dir", str(tmp_path / "a"),
            "--supplemental-prow-config-dir", str(tmp_path / "b"),
            "--supplemental-prow-configs-filename-suffix", "_extra.yaml",
            "--require-shas",
        ]
    )  # fmt: skip
    assert settings.supplemental_prow_config_dirs == (tmp_path / "a", tmp_path / "b")
    assert settings.supplemental_prow_configs_suffix == "_extra.yaml"
    assert settings.require_shas is True
    defaults = parse_serve_args(base)
    assert (defaults.supplemental_prow_config_dirs, defaults.require_shas) == ((), False)
    assert defaults.supplemental_prow_configs_suffix == "_prowconfig.yaml"
    with pytest.raises(ValueError, match=r"--supplemental-prow-config-dir: .* is not a directory"):
        parse_serve_args([*base, "--supplemental-prow-config-dir", str(tmp_path / "nope")])
