"""ProwJob filters restricted to what a caller may see (see prow/visibility.py); one place for
every interface (GraphQL, gangway) so none lists a ProwJob hidden from its caller."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass

from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.prow.visibility import record_hidden
from prow_graphql.service.models import ProwJobFilter


@dataclass(frozen=True, slots=True)
class VisibleFilter(ProwJobFilter):
    """A ProwJob filter that also drops hidden ProwJobs (hidden_repos None: drop none)."""

    hidden_repos: Collection[str] | None = None

    def matches(self, record: ProwJobRecord) -> bool:
        if self.hidden_repos is not None and record_hidden(record, self.hidden_repos):
            return False
        return ProwJobFilter.matches(self, record)


def visible(base: ProwJobFilter, hidden_repos: Collection[str] | None) -> VisibleFilter:
    """`base` restricted to what a caller may see (hidden_repos None: everything)."""
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    return VisibleFilter(**fields, hidden_repos=hidden_repos)
