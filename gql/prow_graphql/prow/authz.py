"""Who may run (trigger, abort, rerun) a job: Deck's rerun_auth_config rules, without GitHub calls.

Deck asks GitHub whether a login belongs to an org or team; we read memberships from the caller's
identity groups instead: `github-org:<org>`, `github-team:<org>/<slug>`, and
`github-team-id:<org>/<id>` (or `github-team-id:<id>`, org not stated). Deck checks team ids in the
job's org (refs.org, else extra_refs[0].org), so an org-qualified id counts only there. Logins
compare as Prow's NormLogin does: case-insensitive, a leading `@` ignored.
Pure: no I/O. The identity is anything with `user`, `groups` and `authenticated` (identity's
`Identity`), so this module needs nothing outside prow_graphql.prow and prow_graphql.errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from prow_graphql.errors import PermissionDenied
from prow_graphql.prow.config import DeckConfig

GROUP_ORG_PREFIX = "github-org:"
GROUP_TEAM_PREFIX = "github-team:"
GROUP_TEAM_ID_PREFIX = "github-team-id:"


class Principal(Protocol):
    """The parts of an identity that authorization reads."""

    @property
    def user(self) -> str: ...

    @property
    def groups(self) -> tuple[str, ...]: ...

    @property
    def authenticated(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the caller may act on the job, and why (a denial says who may)."""

    allowed: bool
    reason: str

    def raise_if_denied(self) -> None:
        """Raise `PermissionDenied` with the reason when not allowed."""
        if not self.allowed:
            raise PermissionDenied(self.reason)


@dataclass(frozen=True, slots=True)
class Memberships:
    """GitHub memberships read from identity groups; names lower-cased (GitHub ignores case)."""

    orgs: frozenset[str] = frozenset()
    teams: frozenset[tuple[str, str]] = frozenset()
    team_ids: frozenset[int] = frozenset()
    org_team_ids: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def from_groups(cls, groups: Iterable[str]) -> Memberships:
        """Parse the group convention; groups in any other form are ignored."""
        orgs: set[str] = set()
        teams: set[tuple[str, str]] = set()
        team_ids: set[int] = set()
        org_team_ids: set[tuple[str, int]] = set()
        for group in groups:
            if group.startswith(GROUP_ORG_PREFIX):
                org = group.removeprefix(GROUP_ORG_PREFIX).strip().lower()
                if org and "/" not in org:
                    orgs.add(org)
            elif group.startswith(GROUP_TEAM_PREFIX):
                org, _, slug = group.removeprefix(GROUP_TEAM_PREFIX).strip().lower().partition("/")
                if org and slug and "/" not in slug:
                    teams.add((org, slug))
            elif group.startswith(GROUP_TEAM_ID_PREFIX):
                value = group.removeprefix(GROUP_TEAM_ID_PREFIX).strip().lower()
                org, slash, number = value.rpartition("/")
                team_id = _team_id(number)
                if team_id is None or (slash and (not org or "/" in org)):
                    continue
                if slash:
                    org_team_ids.add((org, team_id))
                else:
                    team_ids.add(team_id)
        return cls(frozenset(orgs), frozenset(teams), frozenset(team_ids), frozenset(org_team_ids))

    def in_team(self, org: str, team_id: int) -> bool:
        """Deck's TeamHasMember(org, id): the id within the job's org."""
        return team_id in self.team_ids or (org.lower(), team_id) in self.org_team_ids


@dataclass(frozen=True, slots=True)
class AllowList:
    """One RerunAuthConfig's allow lists as written (trimmed, deduplicated ignoring case);
    malformed items are skipped."""

    allow_anyone: bool = False
    users: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    teams: tuple[tuple[str, str], ...] = ()
    team_ids: tuple[int, ...] = ()

    @classmethod
    def parse(cls, config: Mapping[str, Any] | None) -> AllowList:
        """From a RerunAuthConfig mapping (`None` allows nobody)."""
        if not config:
            return cls()
        teams = []
        for item in _items(config.get("github_team_slugs")):
            if isinstance(item, Mapping):
                org, slug = _name(item.get("org")), _name(item.get("slug"))
                if org and slug:
                    teams.append((org, slug))
        team_ids = (_team_id(i) for i in _items(config.get("github_team_ids")))
        return cls(
            allow_anyone=config.get("allow_anyone") is True,
            users=_names(config.get("github_users")),
            orgs=_names(config.get("github_orgs")),
            teams=_unique(teams),
            team_ids=tuple(dict.fromkeys(i for i in team_ids if i is not None)),
        )

    @property
    def empty(self) -> bool:
        """Nobody is listed (allow_anyone aside)."""
        return not (self.users or self.orgs or self.teams or self.team_ids)

    def grant(self, user: str, member: Memberships, org: str = "") -> str | None:
        """Why `user` is allowed by these lists, or None; `org` is the job's org (team ids)."""
        login = norm_login(user)
        if login and any(norm_login(u) == login for u in self.users):
            return f"{user} is listed in github_users"
        for org in self.orgs:
            if org.lower() in member.orgs:
                return f"{user} is a member of org {org}"
        for org, slug in self.teams:
            if (org.lower(), slug.lower()) in member.teams:
                return f"{user} is a member of team {org}/{slug}"
        for team_id in self.team_ids:
            if member.in_team(org, team_id):
                return f"{user} is a member of team id {team_id}"
        return None

    def merged(self, other: AllowList) -> AllowList:
        """Both lists together, in order, without repeats (for describing who may run)."""
        return AllowList(
            allow_anyone=self.allow_anyone or other.allow_anyone,
            users=_unique(self.users + other.users),
            orgs=_unique(self.orgs + other.orgs),
            teams=_unique(self.teams + other.teams),
            team_ids=tuple(dict.fromkeys(self.team_ids + other.team_ids)),
        )

    def describe(self) -> str:
        """E.g. `users alice, bob; members of org kubevirt; members of team kubevirt/ci`."""
        parts = []
        if self.users:
            parts.append(f"{_plural('user', self.users)} {', '.join(self.users)}")
        if self.orgs:
            parts.append(f"members of {_plural('org', self.orgs)} {', '.join(self.orgs)}")
        if self.teams:
            names = ", ".join(f"{org}/{slug}" for org, slug in self.teams)
            parts.append(f"members of {_plural('team', self.teams)} {names}")
        if self.team_ids:
            ids = ", ".join(str(i) for i in self.team_ids)
            parts.append(f"members of {_plural('team id', self.team_ids)} {ids}")
        return "; ".join(parts)


def norm_login(login: str) -> str:
    """Prow's github.NormLogin: lower case, without a leading `@`."""
    return login.lower().removeprefix("@")


def may_run(
    job_rerun_auth_config: Mapping[str, Any] | None,
    deck: DeckConfig,
    org_repo: str,
    cluster: str,
    identity: Principal,
    *,
    job_name: str = "",
    action: str = "run",
) -> Decision:
    """Deck's rule: allow_anyone (job or config level), else the authenticated user must be listed
    (config-level entry first, then the job's own config). `action` names the act in reasons:
    run, trigger, rerun or abort."""
    job = f"job {job_name}" if job_name else "this job"
    config_level = AllowList.parse(deck.rerun_auth_config_for(org_repo, cluster))
    job_level = AllowList.parse(job_rerun_auth_config)
    if job_level.allow_anyone:
        return Decision(True, f"{job} allows anyone (rerun_auth_config.allow_anyone)")
    if config_level.allow_anyone:
        return Decision(True, f"{job} allows anyone (deck.default_rerun_auth_configs)")
    everyone = config_level.merged(job_level)
    if everyone.empty:
        return Decision(
            False,
            f"no rerun_auth_config allows anyone to {action} {job}; ask an admin to add "
            "you to deck.default_rerun_auth_configs or the job's rerun_auth_config",
        )
    who = f"{job} may be {_participle(action)} by {everyone.describe()}"
    if not identity.authenticated or not identity.user:
        return Decision(False, f"authentication required: {who}")
    member = Memberships.from_groups(identity.groups)
    org = org_repo.split("/", 1)[0] if org_repo else ""
    for allow_list in (config_level, job_level):
        why = allow_list.grant(identity.user, member, org)
        if why is not None:
            return Decision(True, why)
    return Decision(
        False,
        f"{identity.user} may not {action} {job}; "
        f"it may be {_participle(action)} by {everyone.describe()}",
    )


def _participle(action: str) -> str:
    # "run" and "rerun" are their own past participles.
    return {"abort": "aborted", "trigger": "triggered"}.get(action, action)


def _plural(noun: str, items: tuple[Any, ...]) -> str:
    return noun if len(items) == 1 else f"{noun}s"


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _name(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _names(value: Any) -> tuple[str, ...]:
    return _unique([n for n in map(_name, _items(value)) if n])


_T = TypeVar("_T", str, tuple[str, str])


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    # GitHub names ignore case: keep the first spelling of each.
    seen: dict[object, _T] = {}
    for item in items:
        key = item.lower() if isinstance(item, str) else (item[0].lower(), item[1].lower())
        seen.setdefault(key, item)
    return tuple(seen.values())


def _team_id(value: Any) -> int | None:
    # GitHub team ids are positive integers; YAML may give them as numbers or strings.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
