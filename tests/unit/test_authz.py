"""Per-job authorization with Deck's rerun_auth_config rules, memberships read from groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from prow_graphql.errors import PermissionDenied
from prow_graphql.identity import ANONYMOUS, Identity
from prow_graphql.prow.authz import (
    GROUP_ORG_PREFIX,
    GROUP_TEAM_ID_PREFIX,
    GROUP_TEAM_PREFIX,
    AllowList,
    Decision,
    Memberships,
    may_run,
)
from prow_graphql.prow.config import ConfigEntry, DeckConfig, parse_prow_config

# ../shared beside the clone (see tests/harness.py); unit tests avoid importing the app.
KUBEVIRT = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "prow" / "kubevirt"
NOBODY = DeckConfig()
REPO = "kubevirt/kubevirt"


def user(name: str, *groups: str) -> Identity:
    return Identity(user=name, groups=groups, authenticated=True)


def deck(*entries: tuple[str, str, dict[str, Any]]) -> DeckConfig:
    return DeckConfig(
        rerun_auth_config_entries=tuple(ConfigEntry(r, c, cfg) for r, c, cfg in entries)
    )


def run(
    job_config: dict[str, Any] | None,
    config: DeckConfig,
    identity: Identity,
    org_repo: str = REPO,
    cluster: str = "default",
) -> Decision:
    return may_run(job_config, config, org_repo, cluster, identity, job_name="pull-test")


def test_group_prefixes_are_the_documented_convention() -> None:
    assert (GROUP_ORG_PREFIX, GROUP_TEAM_PREFIX, GROUP_TEAM_ID_PREFIX) == (
        "github-org:",
        "github-team:",
        "github-team-id:",
    )


def test_allow_anyone_on_the_job_admits_anonymous_callers() -> None:
    decision = run({"allow_anyone": True}, NOBODY, ANONYMOUS)
    assert decision == Decision(
        True, "job pull-test allows anyone (rerun_auth_config.allow_anyone)"
    )


def test_allow_anyone_at_config_level_admits_anonymous_callers() -> None:
    config = deck(("kubevirt", "", {"allow_anyone": True}))
    assert run(None, config, ANONYMOUS) == Decision(
        True, "job pull-test allows anyone (deck.default_rerun_auth_configs)"
    )
    # Only for matching repos.
    assert run(None, config, ANONYMOUS, org_repo="other/repo").allowed is False


def test_nobody_configured_denies_everyone_and_says_how_to_fix_it() -> None:
    expected = Decision(
        False,
        "no rerun_auth_config allows anyone to run job pull-test; ask an admin to add you to "
        "deck.default_rerun_auth_configs or the job's rerun_auth_config",
    )
    assert run(None, NOBODY, user("alice", "github-org:kubevirt")) == expected
    assert run({"allow_anyone": False, "github_users": []}, NOBODY, ANONYMOUS) == expected


def test_users_are_matched_ignoring_case() -> None:
    config = deck(("", "", {"github_users": ["Alice", "bob"]}))
    assert run(None, config, user("alice")) == Decision(True, "alice is listed in github_users")
    assert run(None, config, user("BOB")).allowed is True
    assert run(None, config, user("carol")).allowed is False


def test_org_membership_comes_from_github_org_groups() -> None:
    config = deck(("", "", {"github_orgs": ["kubevirt"]}))
    assert run(None, config, user("alice", "github-org:KubeVirt")) == Decision(
        True, "alice is a member of org kubevirt"
    )
    # A bare group name, another org, or a team in the org is not org membership.
    for groups in (("kubevirt",), ("github-org:nmstate",), ("github-team:kubevirt/ci",)):
        assert run(None, config, user("alice", *groups)).allowed is False


def test_team_slugs_need_the_matching_org_and_slug() -> None:
    config = deck(("", "", {"github_team_slugs": [{"org": "kubevirt", "slug": "sig-ci"}]}))
    assert run(None, config, user("alice", "github-team:kubevirt/sig-ci")) == Decision(
        True, "alice is a member of team kubevirt/sig-ci"
    )
    assert run(None, config, user("alice", "github-team:KubeVirt/SIG-CI")).allowed is True
    for groups in (("github-team:nmstate/sig-ci",), ("github-team:sig-ci",), ("sig-ci",)):
        assert run(None, config, user("alice", *groups)).allowed is False


def test_team_ids_match_numbers_written_either_way() -> None:
    config = deck(("", "", {"github_team_ids": [42, "7"]}))
    assert run(None, config, user("alice", "github-team-id:42")) == Decision(
        True, "alice is a member of team id 42"
    )
    assert run(None, config, user("bob", "github-team-id:7")).allowed is True
    assert run(None, config, user("carol", "github-team-id:420")).allowed is False
    assert run(None, config, user("dave", "github-team-id:x42")).allowed is False


def test_the_last_matching_config_entry_wins() -> None:
    config = deck(
        ("*", "", {"github_users": ["alice"]}),
        ("kubevirt", "", {"github_users": ["bob"]}),
        ("other/repo", "", {"github_users": ["carol"]}),
    )
    assert run(None, config, user("bob")).allowed is True
    assert run(None, config, user("alice")).allowed is False  # no merging with "*"
    assert run(None, config, user("alice"), org_repo="nmstate/nmstate").allowed is True
    assert run(None, config, user("carol"), org_repo="other/repo").allowed is True


def test_cluster_specific_entries_follow_the_job_cluster() -> None:
    config = deck(
        ("", "*", {"github_users": ["alice"]}),
        ("", "s390x", {"github_users": ["bob"]}),
    )
    assert run(None, config, user("alice"), cluster="default").allowed is True
    assert run(None, config, user("alice"), cluster="s390x").allowed is False
    assert run(None, config, user("bob"), cluster="s390x").allowed is True


def test_the_job_config_is_checked_after_the_config_level_entry() -> None:
    config = deck(("", "", {"github_users": ["alice"]}))
    job = {"github_orgs": ["nmstate"]}
    assert run(job, config, user("alice")) == Decision(True, "alice is listed in github_users")
    assert run(job, config, user("bob", "github-org:nmstate")) == Decision(
        True, "bob is a member of org nmstate"
    )
    assert run(job, NOBODY, user("bob", "github-org:nmstate")).allowed is True


def test_unauthenticated_callers_are_denied_with_who_may() -> None:
    config = deck(("", "", {"github_users": ["alice"]}))
    assert run(None, config, ANONYMOUS) == Decision(
        False, "authentication required: job pull-test may be run by user alice"
    )
    # A user name without authentication (e.g. typed into a request) is not an identity.
    assert run(None, config, Identity(user="alice")).allowed is False


def test_denial_lists_everyone_who_may_run_the_job() -> None:
    config = deck(
        (
            "",
            "",
            {
                "github_users": ["alice", "bob"],
                "github_orgs": ["kubevirt"],
                "github_team_slugs": [{"org": "kubevirt", "slug": "ci"}],
            },
        )
    )
    job = {"github_users": ["Bob", "carol"], "github_team_ids": [42, 43], "github_orgs": []}
    decision = run(job, config, user("mallory", "github-org:nmstate"))
    assert decision == Decision(
        False,
        "mallory may not run job pull-test; it may be run by users alice, bob, carol; "
        "members of org kubevirt; members of team kubevirt/ci; members of team ids 42, 43",
    )
    with pytest.raises(PermissionDenied) as caught:
        decision.raise_if_denied()
    assert caught.value.message == decision.reason


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("abort", "mallory may not abort job pull-test; it may be aborted by user alice"),
        ("trigger", "mallory may not trigger job pull-test; it may be triggered by user alice"),
        ("rerun", "mallory may not rerun job pull-test; it may be rerun by user alice"),
    ],
)
def test_reasons_name_the_action(action: str, reason: str) -> None:
    config = deck(("", "", {"github_users": ["alice"]}))
    decision = may_run(None, config, REPO, "default", user("mallory"), job_name="pull-test",
                       action=action)  # fmt: skip
    assert decision == Decision(False, reason)


def test_allowed_decisions_do_not_raise() -> None:
    run({"allow_anyone": True}, NOBODY, ANONYMOUS).raise_if_denied()


def test_malformed_allow_list_items_are_skipped() -> None:
    allow = AllowList.parse(
        {
            "github_users": ["alice", 3, None, " ", "ALICE"],
            "github_orgs": "kubevirt",
            "github_team_slugs": [{"org": "kubevirt"}, "ci", {"org": "k", "slug": "s"}],
            "github_team_ids": [True, -1, "x", 5],
        }
    )
    assert allow == AllowList(users=("alice",), teams=(("k", "s"),), team_ids=(5,))


def test_memberships_from_groups() -> None:
    member = Memberships.from_groups(
        [
            "github-org:KubeVirt",
            "github-org:",
            "github-org:a/b",
            "github-team:kubevirt/CI",
            "github-team:kubevirt",
            "github-team:a/b/c",
            "github-team-id:12",
            "github-team-id:-3",
            "github-team-id:KubeVirt/99",
            "github-team-id:/5",
            "github-team-id:a/b/6",
            "system:authenticated",
        ]
    )
    assert member == Memberships(
        orgs=frozenset({"kubevirt"}),
        teams=frozenset({("kubevirt", "ci")}),
        team_ids=frozenset({12}),
        org_team_ids=frozenset({("kubevirt", 99)}),
    )


def test_logins_compare_as_prows_norm_login() -> None:
    """Prow's NormLogin: case-insensitive, a leading '@' ignored on either side."""
    config = deck(("", "", {"github_users": ["@Alice", "bob"]}))
    assert run(None, config, user("alice")).allowed is True
    assert run(None, config, user("@BOB")).allowed is True
    assert run(None, config, user("carol")).allowed is False


def test_team_ids_are_checked_in_the_jobs_org() -> None:
    """Deck asks GitHub TeamHasMember(job org, id): an org-qualified team id counts only there."""
    config = deck(("", "", {"github_team_ids": [99]}))
    member = user("alice", "github-team-id:kubevirt/99")
    assert run(None, config, member, org_repo="kubevirt/kubevirt").allowed is True
    assert run(None, config, member, org_repo="other/repo").allowed is False
    # a periodic without refs: no org to check the team in
    assert run(None, config, member, org_repo="").allowed is False


KUBEVIRT_DECK = yaml.safe_load(
    """
deck:
  default_rerun_auth_configs:
    - cluster: '*'
      rerun_auth_configs:
        github_team_slugs:
          - {org: kubevirt, slug: prow-job-taskforce}
    - cluster: prow-s390x-workloads
      rerun_auth_configs:
        github_team_slugs:
          - {org: kubevirt, slug: prow-job-taskforce}
          - {org: kubevirt, slug: wg-arch-s390x}
"""
)


def test_kubevirt_deck_config_by_cluster() -> None:
    config = parse_prow_config(KUBEVIRT_DECK, "config.yaml").deck
    taskforce = user("alice", "github-team:kubevirt/prow-job-taskforce")
    s390x = user("bob", "github-team:kubevirt/wg-arch-s390x")
    assert run(None, config, taskforce, cluster="kubevirt-prow-workloads").allowed is True
    assert run(None, config, s390x, cluster="kubevirt-prow-workloads") == Decision(
        False,
        "bob may not run job pull-test; it may be run by members of team "
        "kubevirt/prow-job-taskforce",
    )
    assert run(None, config, s390x, cluster="prow-s390x-workloads").allowed is True
    assert run(None, config, taskforce, cluster="prow-s390x-workloads").allowed is True


def test_old_map_form_orders_star_then_org_then_repo() -> None:
    data = {
        "deck": {
            "rerun_auth_configs": {
                "kubevirt/kubevirt": {"github_users": ["carol"]},
                "*": {"github_users": ["alice"]},
                "kubevirt": {"github_users": ["bob"]},
            }
        }
    }
    config = parse_prow_config(data, "config.yaml").deck
    assert run(None, config, user("carol")).allowed is True
    assert run(None, config, user("bob")).allowed is False
    assert run(None, config, user("bob"), org_repo="kubevirt/project-infra").allowed is True
    assert run(None, config, user("alice"), org_repo="nmstate/nmstate").allowed is True


def test_the_real_kubevirt_config_matches_the_literal_copy() -> None:
    path = KUBEVIRT / "config.yaml"
    if not path.exists():
        pytest.skip("../shared fixtures not present")
    data = yaml.safe_load(path.read_text())
    real = parse_prow_config({"deck": data["deck"]}, str(path)).deck
    assert real.rerun_auth_config_entries == (
        parse_prow_config(KUBEVIRT_DECK, "config.yaml").deck.rerun_auth_config_entries
    )
