"""Config validation (reference §3.5): every error names the file, the job and the fix."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from prow_graphql.errors import ConfigError
from prow_graphql.prow.loader import ConfigErrors, ConfigLoader

SPEC = "spec: {containers: [{image: 'alpine:3.20', command: ['true']}]}"


def errors_of(tmp_path: Path, jobs: dict[str, str], config: str = "{}\n") -> list[ConfigError]:
    (tmp_path / "config.yaml").write_text(dedent(config))
    for name, text in jobs.items():
        path = tmp_path / "jobs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    (tmp_path / "jobs").mkdir(exist_ok=True)
    with pytest.raises(ConfigErrors) as info:
        ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load()
    assert (
        str(info.value)
        .splitlines()[0]
        .endswith("in the Prow configuration; fix all of them, then reload:")
    )
    return list(info.value.errors)


def only_error(tmp_path: Path, jobs: str, config: str = "{}\n") -> ConfigError:
    (error,) = errors_of(tmp_path, {"jobs.yaml": jobs}, config)
    assert error.path == str(tmp_path / "jobs" / "jobs.yaml")
    return error


def presubmit(fields: str) -> str:
    return f"presubmits:\n  org/repo:\n  - {{{fields}, {SPEC}}}\n"


def periodic(fields: str) -> str:
    return f"periodics:\n- {{{fields}, {SPEC}}}\n"


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    error = only_error(tmp_path, "presubmits:\n  org/repo:\n  - name: a\n   bad: indent\n")
    assert error.job is None
    assert (
        "invalid YAML at line 4, column 4: while parsing a block mapping did not find expected key"
        in (str(error))
    )
    assert str(error).endswith("; fix the syntax")


def test_a_top_level_list_is_rejected(tmp_path: Path) -> None:
    error = only_error(tmp_path, "- name: a\n")
    assert "the top level is list, not a mapping" in str(error)


def test_an_empty_file_is_fine(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "empty.yaml").write_text("# nothing yet\n")
    index = ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load()
    assert index.counts.presubmits == 0


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        (f"presubmits:\n  org/repo:\n  - {{{SPEC}}}\n", "presubmit #1 of org/repo has no name"),
        (
            f"postsubmits:\n  org/repo:\n  - {{name: ok, {SPEC}}}\n  - {{name: '', {SPEC}}}\n",
            "postsubmit #2 of org/repo has no name",
        ),
        (f"periodics:\n- {{name: [a], interval: 1h, {SPEC}}}\n", "has name ['a'], a list"),
        ("periodics:\n- just a string\n", "periodic #1 is str, not a mapping"),
    ],
)
def test_jobs_without_a_usable_name(tmp_path: Path, jobs: str, expected: str) -> None:
    error = only_error(tmp_path, jobs)
    assert expected in str(error)


def test_invalid_job_name(tmp_path: Path) -> None:
    error = only_error(tmp_path, presubmit("name: 'bad name!'"))
    assert error.job == "bad name!"
    assert str(error) == (
        f"file {tmp_path / 'jobs' / 'jobs.yaml'}, job 'bad name!': job name 'bad name!' is "
        r"invalid: it must match ^[A-Za-z0-9\-._]+$ (letters, digits, '-', '.', '_'); "
        "rename the job"
    )


def test_duplicate_presubmits_with_overlapping_branches_across_files(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        {
            "a.yaml": presubmit("name: dup, branches: [main]"),
            "b.yaml": presubmit("name: dup, branches: [main, dev]"),
        },
    )
    (error,) = errors
    a, b = tmp_path / "jobs" / "a.yaml", tmp_path / "jobs" / "b.yaml"
    assert (error.path, error.job) == (str(b), "dup")
    assert str(error) == (
        f"file {b}, job 'dup': presubmit 'dup' of org/repo is defined more than once for "
        f"overlapping branches (branches ['main', 'dev'] here; branches ['main'] in {a}); "
        "rename one of them or make their `branches` disjoint"
    )


def test_same_name_on_disjoint_branches_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "j.yaml").write_text(
        presubmit("name: e2e, branches: [release-1.0]")
        + f"  - {{name: e2e, branches: [release-1.1], {SPEC}}}\n"
        + f"postsubmits:\n  org/repo:\n  - {{name: e2e, {SPEC}}}\n"
        + f"  other/repo:\n  - {{name: e2e, {SPEC}}}\n"
    )
    index = ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load()
    assert [j.brancher.branches for j in index.presubmits("org/repo")] == [
        ("release-1.0",),
        ("release-1.1",),
    ]


def test_duplicate_postsubmits(tmp_path: Path) -> None:
    jobs = f"postsubmits:\n  org/repo:\n  - {{name: p, {SPEC}}}\n  - {{name: p, {SPEC}}}\n"
    error = only_error(tmp_path, jobs)
    assert error.job == "p"
    assert "postsubmit 'p' of org/repo is defined more than once" in str(error)


def test_duplicate_periodics(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        {
            "a.yaml": periodic("name: nightly, cron: '@daily'"),
            "b.yaml": periodic("name: nightly, interval: 1h"),
        },
    )
    (error,) = errors
    assert str(error) == (
        f"file {tmp_path / 'jobs' / 'b.yaml'}, job 'nightly': periodic 'nightly' is defined "
        f"more than once (also in {tmp_path / 'jobs' / 'a.yaml'}); periodic names must be "
        "unique: rename one"
    )


def test_same_context_on_overlapping_branches(tmp_path: Path) -> None:
    jobs = presubmit("name: a, context: ci/unit") + f"  - {{name: b, context: ci/unit, {SPEC}}}\n"
    error = only_error(tmp_path, jobs)
    assert error.job == "b"
    assert "report to the same GitHub context 'ci/unit' on overlapping branches" in str(error)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("branches: ['(']", "branches: invalid regular expression '('"),
        ("skip_branches: ['[a']", "skip_branches: invalid regular expression '[a'"),
        ("run_if_changed: '(x'", "run_if_changed: invalid regular expression '(x'"),
        ("skip_if_only_changed: '*'", "skip_if_only_changed: invalid regular expression '*'"),
        ("trigger: '(', rerun_command: /test t", "trigger: invalid regular expression '('"),
        # valid in Python's re, rejected by Go's RE2 (§8.5)
        ("branches: ['^(?!release)']", "branches: invalid regular expression '^(?!release)'"),
        ("branches: [a, '(x)\\1']", "branches: invalid regular expression 'a|(x)\\\\1'"),
    ],
)
def test_invalid_regexes(tmp_path: Path, fields: str, expected: str) -> None:
    error = only_error(tmp_path, presubmit(f"name: t, {fields}"))
    assert error.job == "t"
    assert expected in str(error)


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        (presubmit("name: t, max_concurrency: -1"), "max_concurrency is -1; it must be 0"),
        (
            presubmit("name: t, always_run: true, run_if_changed: ^docs/"),
            "always_run: true and run_if_changed are mutually exclusive",
        ),
        (
            presubmit("name: t, always_run: true, skip_if_only_changed: ^docs/"),
            "always_run: true and skip_if_only_changed are mutually exclusive",
        ),
        (
            presubmit("name: t, run_if_changed: ^a/, skip_if_only_changed: ^b/"),
            "run_if_changed and skip_if_only_changed are mutually exclusive",
        ),
        (
            "postsubmits:\n  org/repo:\n"
            f"  - {{name: t, always_run: true, run_if_changed: x, {SPEC}}}\n",
            "always_run: true and run_if_changed are mutually exclusive",
        ),
        (periodic("name: t"), "at least one of cron, interval, or minimum_interval must be set"),
        (
            periodic("name: t, cron: '@daily', interval: 1h"),
            "cron, interval, and minimum_interval are mutually exclusive in periodic t",
        ),
        (
            periodic("name: t, interval: soon"),
            'cannot parse duration for t: time: invalid duration "soon"',
        ),
        (
            presubmit("name: t, rerun_auth_config: {allow_anyone: true, github_users: [a]}"),
            "rerun_auth_config: allow_anyone: true cannot be combined with github_users",
        ),
        (
            presubmit("name: t, trigger: '^/run t$'"),
            "trigger and rerun_command must both be set or both be left out",
        ),
        (
            presubmit("name: t, trigger: '^/run t$', rerun_command: /test t"),
            "rerun_command '/test t' does not match trigger '^/run t$'",
        ),
        (presubmit("name: t, job_queue_name: gpu"), "job_queue_name 'gpu' is not in plank."),
        (presubmit("name: t, labels: {preset-x: {a: b}}"), "labels.preset-x: expected a string"),
        ("presubmits:\n  org/repo:\n  - {name: t}\n", "agent kubernetes needs a `spec:`"),
    ],
)
def test_job_validation_errors_name_file_job_and_fix(
    tmp_path: Path, jobs: str, expected: str
) -> None:
    error = only_error(tmp_path, jobs)
    assert error.job == "t"
    assert str(error).startswith(f"file {tmp_path / 'jobs' / 'jobs.yaml'}, job 't': ")
    assert expected in str(error)


def test_postsubmit_always_run_false_with_run_if_changed_is_fine(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "j.yaml").write_text(
        "postsubmits:\n  org/repo:\n"
        f"  - {{name: t, always_run: false, run_if_changed: x, {SPEC}}}\n"
    )
    (job,) = (
        ConfigLoader(tmp_path / "config.yaml", tmp_path / "jobs").load().postsubmits("org/repo")
    )
    assert (job.always_run, job.run_if_changed) == (False, "x")


def test_duplicate_preset_label_pairs(tmp_path: Path) -> None:
    config = "presets:\n- labels: {a: '1'}\n  env: [{name: A, value: a}]\n"
    jobs = "presets:\n- labels: {a: '1', b: '2'}\n  env: [{name: B, value: b}]\n"
    (error,) = errors_of(tmp_path, {"presets.yaml": jobs}, config)
    assert error.path == str(tmp_path / "jobs" / "presets.yaml")
    assert f"the label 'a:1' selects more than one preset (also in {tmp_path / 'config.yaml'})" in (
        str(error)
    )


def test_duplicate_basenames_in_the_job_tree(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        {
            "a/jobs.yaml": periodic("name: one, interval: 1h"),
            "b/jobs.yaml": periodic("name: two, interval: 1h"),
        },
    )
    (error,) = errors
    assert error.path == str(tmp_path / "jobs" / "b" / "jobs.yaml")
    assert f"duplicated file name 'jobs.yaml' (also {tmp_path / 'jobs' / 'a' / 'jobs.yaml'})" in (
        str(error)
    )


def test_all_errors_of_a_load_are_collected(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        {
            "a.yaml": presubmit("name: x, max_concurrency: -2") + f"  - {{name: 'y y', {SPEC}}}\n",
            "b.yaml": periodic("name: z"),
            "c.yaml": "periodics: [\n",
        },
        config="plank: {default_decoration_configs: {'*': {}}, "
        "default_decoration_config_entries: [{config: {}}]}\n",
    )
    jobs = tmp_path / "jobs"
    assert [(e.path, e.job) for e in errors] == [
        (str(jobs / "c.yaml"), None),
        (str(tmp_path / "config.yaml"), None),
        (str(jobs / "a.yaml"), "x"),
        (str(jobs / "a.yaml"), "y y"),
        (str(jobs / "b.yaml"), "z"),
    ]
    with pytest.raises(ConfigErrors) as info:
        ConfigLoader(tmp_path / "config.yaml", jobs).load()
    lines = str(info.value).splitlines()
    assert lines[0] == "5 errors in the Prow configuration; fix all of them, then reload:"
    assert len(lines) == 6
    assert all(line.startswith("  - file ") for line in lines[1:])
    assert isinstance(info.value, ConfigError)


def test_missing_paths_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as info:
        ConfigLoader(tmp_path / "nope.yaml", tmp_path / "no-jobs").load()
    messages = [str(e) for e in info.value.errors]
    assert messages == [
        f"file {tmp_path / 'nope.yaml'}: cannot read the file (No such file or directory)",
        f"file {tmp_path / 'no-jobs'}: the job config path does not exist; check --job-config-path",
    ]
