"""The gateway's use cases: trigger a job, abort and rerun, read and follow ProwJobs.

GraphQL, REST (and any other interface) call this package; none builds ProwJobs nor touches the
store itself. Validation errors are `errors.UserError`s whose `field` uses the domain names
(snake_case, dotted); each interface renames them to its own vocabulary.
"""

from prow_graphql.service.lifecycle import Lifecycle
from prow_graphql.service.logs import LogEvent, LogEventKind, Logs
from prow_graphql.service.models import (
    NotAbortable,
    Policy,
    ProwJobFilter,
    ProwJobPage,
    PullRequestInput,
    RerunMode,
    TriggerOutcome,
    TriggerRequest,
)
from prow_graphql.service.triggering import Triggering
from prow_graphql.service.visible import VisibleFilter, visible


class GatewayService(Triggering, Lifecycle, Logs):
    """Trigger, abort, rerun, list and follow ProwJobs and their logs (one config holder, store,
    informer)."""


__all__ = [
    "GatewayService",
    "LogEvent",
    "LogEventKind",
    "NotAbortable",
    "Policy",
    "ProwJobFilter",
    "ProwJobPage",
    "PullRequestInput",
    "RerunMode",
    "TriggerOutcome",
    "TriggerRequest",
    "VisibleFilter",
    "visible",
]
