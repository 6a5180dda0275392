"""The caller's visibility class, applied to every read of jobs and ProwJobs.

Callers in --hidden-jobs-group see hidden jobs; nobody else does (see prow/visibility.py). The
class is part of every shared-execution and result-cache key, so no answer computed for one
class reaches the other, and a shared execution runs with a context holding only the class.
"""

from __future__ import annotations

import dataclasses

from prow_graphql.errors import ProwJobNotFound
from prow_graphql.identity import Identity
from prow_graphql.service import GatewayService

ALL = "all"
PUBLIC = "public"


def visibility_class(context: object) -> str:
    """ALL or PUBLIC for a GraphQLContext (PUBLIC when in doubt)."""
    check = getattr(context, "sees_hidden", None)
    return ALL if callable(check) and check() is True else PUBLIC


def class_context(context: object) -> object:
    """A copy of `context` that knows only the caller's class, not who the caller is: what a
    shared execution runs with, so no viewer-dependent answer reaches another viewer."""
    if not dataclasses.is_dataclass(context) or isinstance(context, type):
        return context
    group = getattr(context, "hidden_jobs_group", None)
    member = visibility_class(context) == ALL and group is not None
    stand_in = Identity(user="", groups=(group,) if member and group else (), authenticated=member)
    return dataclasses.replace(context, identity=stand_in)


def hidden_not_found(service: GatewayService, name: str) -> ProwJobNotFound:
    """The error a hidden ProwJob answers with: the very one an unknown name gets, so a caller
    outside --hidden-jobs-group cannot tell a hidden ProwJob from none."""
    return service._not_found(name)


def classed(key: tuple[str, str | None, str], context: object) -> tuple[str, str | None, str]:
    """A shared-execution or result-cache key that also names the caller's visibility class."""
    return (key[0], key[1], f"{visibility_class(context)}|{key[2]}")
