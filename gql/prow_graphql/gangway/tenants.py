"""Gangway's tenant model, keyed by the gateway's own identities. Pure: config + identity in.

Gangway identifies a client by headers a Cloud Endpoints proxy injects
(`x-endpoint-api-consumer-number`) and lets it run jobs whose `prowjob_defaults.tenant_id` is in
that client's `allowed_jobs_filters`. The gateway never trusts such headers: a caller it has
authenticated (token or proxy) is the client whose `gcp.endpoint_api_consumer_number` equals the
caller's user name or one of its groups, either as the bare number or as gangway's client id
`gcp-PROJECT-<number>`. So an existing `gangway:` section works unchanged once tokens (or the
proxy's groups) carry those names. See docs/gangway.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prow_graphql.identity import Identity
from prow_graphql.prow.config import DEFAULT_TENANT_ID


@dataclass(frozen=True, slots=True)
class ApiClient:
    """One `gangway.allowed_api_clients` entry."""

    consumer_number: str
    tenant_ids: frozenset[str]

    @property
    def names(self) -> frozenset[str]:
        """The user or group names that identify this client."""
        return frozenset({self.consumer_number, f"gcp-PROJECT-{self.consumer_number}"})


def api_clients(raw_config: Mapping[str, Any]) -> tuple[ApiClient, ...]:
    """The configured clients (entries without a GCP consumer number identify nobody)."""
    gangway = raw_config.get("gangway")
    if not isinstance(gangway, Mapping):
        return ()
    clients: list[ApiClient] = []
    for entry in gangway.get("allowed_api_clients") or ():
        if not isinstance(entry, Mapping):
            continue
        gcp = entry.get("gcp")
        number = (
            str(gcp.get("endpoint_api_consumer_number") or "") if isinstance(gcp, Mapping) else ""
        )
        if not number:
            continue
        tenants = frozenset(
            str(f.get("tenant_id"))
            for f in entry.get("allowed_jobs_filters") or ()
            if isinstance(f, Mapping) and f.get("tenant_id")
        )
        clients.append(ApiClient(number, tenants))
    return tuple(clients)


def identify(clients: tuple[ApiClient, ...], identity: Identity) -> ApiClient | None:
    """The first client named by the caller's user name or one of its groups."""
    names = {identity.user, *identity.groups} - {""}
    return next((c for c in clients if c.names & names), None)


def tenant_of(prowjob_defaults: Mapping[str, Any] | None) -> str:
    """A job's tenant: its prowjob_defaults.tenant_id, else Prow's GlobalDefaultID."""
    tenant = (prowjob_defaults or {}).get("tenant_id")
    return str(tenant) if tenant else DEFAULT_TENANT_ID
