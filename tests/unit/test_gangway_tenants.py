"""Gangway's tenant model keyed by gateway identities (pure)."""

from __future__ import annotations

from prow_graphql.gangway.tenants import ApiClient, api_clients, identify, tenant_of
from prow_graphql.identity import Identity

CONFIG = {
    "gangway": {
        "allowed_api_clients": [
            {
                "gcp": {"endpoint_api_consumer_type": "PROJECT",
                        "endpoint_api_consumer_number": "111"},
                "allowed_jobs_filters": [{"tenant_id": "GlobalDefaultID"}, {"tenant_id": "t1"}],
            },
            {"allowed_jobs_filters": [{"tenant_id": "t2"}]},  # no vendor: identifies nobody
            {"gcp": {"endpoint_api_consumer_number": "222"}, "allowed_jobs_filters": []},
        ]
    }
}  # fmt: skip


def test_clients_are_read_from_the_gangway_section() -> None:
    assert api_clients(CONFIG) == (
        ApiClient("111", frozenset({"GlobalDefaultID", "t1"})),
        ApiClient("222", frozenset()),
    )
    assert api_clients({}) == ()
    assert api_clients({"gangway": None}) == ()


def test_a_caller_is_the_client_named_by_its_user_or_a_group() -> None:
    clients = api_clients(CONFIG)
    assert identify(clients, Identity(user="111", authenticated=True)) == clients[0]
    by_group = Identity(user="ci-bot", groups=("x", "gcp-PROJECT-222"), authenticated=True)
    assert identify(clients, by_group) == clients[1]
    assert identify(clients, Identity(user="someone", authenticated=True)) is None
    assert identify(clients, Identity()) is None


def test_a_job_without_a_tenant_belongs_to_the_global_default() -> None:
    assert tenant_of(None) == "GlobalDefaultID"
    assert tenant_of({"tenant_id": ""}) == "GlobalDefaultID"
    assert tenant_of({"tenant_id": "t1"}) == "t1"
