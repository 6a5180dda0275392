"""Brancher: Prow's unanchored branch matching and its string-based overlap test."""

from __future__ import annotations

import re

import pytest

from prow_graphql.prow.goregex import compile_go_regex
from prow_graphql.prow.jobs import Brancher


@pytest.mark.parametrize(
    ("brancher", "branch", "runs"),
    [
        (Brancher(), "anything", True),
        (Brancher(branches=("main",)), "main", True),
        (Brancher(branches=("main",)), "not-main-2", True),  # unanchored, like Prow
        (Brancher(branches=("main",)), "master", False),
        (Brancher(branches=("^main$",)), "main", True),
        (Brancher(branches=("^main$",)), "not-main-2", False),
        (Brancher(branches=("^main$", "^release-.*")), "release-1.2", True),
        (Brancher(skip_branches=("^release-",)), "release-1.2", False),
        (Brancher(skip_branches=("^release-",)), "main", True),
        # skip_branches wins over branches
        (Brancher(branches=("release",), skip_branches=("release-1.0",)), "release-1.0", False),
        (Brancher(branches=("release",), skip_branches=("release-1.0",)), "release-1.1", True),
        (Brancher(branches=(r"^main\z",)), "main", True),  # Go's \z
        (Brancher(branches=("(?i)^MAIN$",)), "main", True),
        (Brancher(branches=("(?i)^dev$", "^main$")), "main", True),
        # §8.5: the patterns are joined into one RE2 regex, so a leading flag covers them all
        (Brancher(branches=("(?i)^dev$", "^main$")), "MAIN", True),
        (Brancher(branches=("^dev$", "(?i)^main$")), "MAIN", True),  # RE2 allows flags mid-way
        (Brancher(branches=(r"^\pL+$",)), "main", True),  # Go's Unicode classes
        (Brancher(branches=(r"^\pL+$",)), "release-1", False),
        (Brancher(skip_branches=("(?i)^wip", "^tmp")), "WIP-x", False),
    ],
)
def test_could_run(brancher: Brancher, branch: str, runs: bool) -> None:
    assert brancher.could_run(branch) is runs


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (Brancher(), Brancher(), True),
        (Brancher(), Brancher(branches=("main",)), True),
        (Brancher(branches=("main",)), Brancher(branches=("main", "dev")), True),
        # Prow compares the strings: these two overlap in practice but pass as disjoint
        (Brancher(branches=("main",)), Brancher(branches=("^main$",)), False),
        (Brancher(branches=("release-1.0",)), Brancher(branches=("release-1.1",)), False),
        (Brancher(branches=("release-1.0",)), Brancher(skip_branches=(r"release-\d",)), False),
        (Brancher(branches=("main",)), Brancher(skip_branches=("release",)), True),
        (Brancher(skip_branches=("a",)), Brancher(skip_branches=("b",)), True),
    ],
)
def test_intersects_like_prow_and_symmetrically(a: Brancher, b: Brancher, overlap: bool) -> None:
    assert a.intersects(b) is overlap
    assert b.intersects(a) is overlap


def test_runs_against_all_and_describe() -> None:
    assert Brancher().runs_against_all
    assert not Brancher(skip_branches=("x",)).runs_against_all
    assert Brancher().describe() == "all branches"
    assert Brancher(branches=("a",), skip_branches=("b",)).describe() == (
        "branches ['a'], skip_branches ['b']"
    )


def test_errors_name_each_list_whose_joined_regex_go_rejects() -> None:
    assert Brancher(branches=("ok", "("), skip_branches=("[",)).errors() == [
        "branches: invalid regular expression 'ok|(': missing ): ok|( (Go RE2 syntax)",
        "skip_branches: invalid regular expression '[': missing ]: [ (Go RE2 syntax)",
    ]
    assert Brancher(branches=("^main$",)).errors() == []


@pytest.mark.parametrize(
    "pattern",
    [r"^(?!release)", r"(?<=x)main", r"(a)\1", r"main\Z", r"(?P=name)"],
)
def test_patterns_python_accepts_but_go_rejects_are_errors(pattern: str) -> None:
    (message,) = Brancher(branches=(pattern,)).errors()
    assert message.startswith(f"branches: invalid regular expression {pattern!r}: ")
    with pytest.raises(re.error, match="Go RE2 syntax"):
        compile_go_regex(pattern)


def test_go_end_of_text_escape() -> None:
    assert compile_go_regex(r"^main\z").search("main") is not None
    assert compile_go_regex(r"^main\z").search("main\n") is None
    assert compile_go_regex(r"a\\z").search("a\\z") is not None
