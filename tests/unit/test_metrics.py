"""Metrics: each observation shows up in the exposition text, and servers don't share values."""

from __future__ import annotations

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from prow_graphql.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of `render()`, keyed by name and sorted labels."""
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    result = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            result[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return result


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


def test_requests_are_counted_by_type_name_and_outcome() -> None:
    m = Metrics()
    labels = {"operation_type": "mutation", "operation_name": "Trigger", "outcome": "success"}
    assert value(m, "prow_graphql_requests_total", **labels) is None
    m.observe_request("mutation", "Trigger", "success", 0.02)
    m.observe_request("mutation", "Trigger", "success", 0.2)
    m.observe_request("mutation", "Trigger", "forbidden", 0.001)
    assert value(m, "prow_graphql_requests_total", **labels) == 2.0
    assert value(m, "prow_graphql_requests_total", **{**labels, "outcome": "forbidden"}) == 1.0
    hist = "prow_graphql_request_duration_seconds"
    assert value(m, f"{hist}_count", operation_type="mutation") == 3.0
    assert value(m, f"{hist}_sum", operation_type="mutation") == pytest.approx(0.221)
    assert value(m, f"{hist}_bucket", operation_type="mutation", le="0.005") == 1.0
    assert value(m, f"{hist}_bucket", operation_type="mutation", le="0.025") == 2.0
    assert value(m, f"{hist}_bucket", operation_type="mutation", le="+Inf") == 3.0


def test_client_chosen_labels_are_bounded() -> None:
    m = Metrics(max_operation_names=2)
    for name in ("A", "B", "C", None, "", "not a name", "x" * 65):
        m.observe_request("query", name, "success", 0.0)
    m.observe_request("bogus", "A", "weird", 0.0)
    names = {
        dict(labels)["operation_name"]
        for (name, labels) in samples(m)
        if name == "prow_graphql_requests_total"
    }
    assert names == {"A", "B", "other", "anonymous", "invalid"}
    assert (
        value(
            m,
            "prow_graphql_requests_total",
            operation_type="unknown",
            operation_name="A",
            outcome="other",
        )
        == 1.0
    )


def test_prowjob_results_start_at_zero_and_count() -> None:
    m = Metrics()
    name = "prow_graphql_prowjob_creations_total"
    assert [value(m, name, result=r) for r in ("created", "dry_run", "failed")] == [0.0] * 3
    m.observe_prowjob("created")
    m.observe_prowjob("created")
    m.observe_prowjob("dry_run")
    m.observe_prowjob("failed")
    assert [value(m, name, result=r) for r in ("created", "dry_run", "failed")] == [2.0, 1.0, 1.0]


def test_active_subscriptions_go_up_and_down() -> None:
    m = Metrics()
    name = "prow_graphql_active_subscriptions"
    assert value(m, name) == 0.0
    m.subscription_started()
    with m.subscription():
        assert value(m, name) == 2.0
    assert value(m, name) == 1.0
    with pytest.raises(RuntimeError), m.subscription():
        raise RuntimeError("subscriber went away")
    m.subscription_ended()
    assert value(m, name) == 0.0


def test_config_reloads_count_and_keep_the_last_success_time() -> None:
    m = Metrics()
    total = "prow_graphql_config_reloads_total"
    stamp = "prow_graphql_config_last_reload_success_timestamp_seconds"
    ok = "prow_graphql_config_last_reload_successful"
    m.observe_config_reload(True, at=1700000000.0)
    m.observe_config_reload(False, at=1700000100.0)
    assert value(m, total, result="success") == 1.0
    assert value(m, total, result="failure") == 1.0
    assert value(m, stamp) == 1700000000.0
    assert value(m, ok) == 0.0
    m.observe_config_reload(True, at=1700000200.0)
    assert value(m, stamp) == 1700000200.0
    assert value(m, ok) == 1.0


def test_manual_trigger_requests_by_outcome() -> None:
    m = Metrics()
    name = "prow_graphql_manual_trigger_requests_total"
    assert value(m, name, outcome="user_error") == 0.0
    m.observe_manual_trigger("success", 1.5)
    m.observe_manual_trigger("user_error", 0.01)
    m.observe_manual_trigger("user_error", 0.01)
    assert value(m, name, outcome="success") == 1.0
    assert value(m, name, outcome="user_error") == 2.0
    assert value(m, "prow_graphql_manual_trigger_duration_seconds_count") == 3.0


def test_bound_values_are_read_on_each_scrape() -> None:
    m = Metrics()
    assert value(m, "prow_graphql_informer_cache_size") is None
    state = {"size": 3.0, "restarts": 0.0, "relists": 1.0}
    m.bind(
        cache_size=lambda: state["size"],
        watch_restarts=lambda: state["restarts"],
        watch_relists=lambda: state["relists"],
    )
    assert value(m, "prow_graphql_informer_cache_size") == 3.0
    assert value(m, "prow_graphql_informer_watch_relists_total") == 1.0
    state.update(size=5.0, restarts=2.0)
    assert value(m, "prow_graphql_informer_cache_size") == 5.0
    assert value(m, "prow_graphql_informer_watch_restarts_total") == 2.0
    assert value(m, "prow_graphql_informer_watch_errors_total") is None


def test_a_failing_provider_does_not_break_the_scrape(caplog: pytest.LogCaptureFixture) -> None:
    m = Metrics()

    def broken() -> float:
        raise ZeroDivisionError("no informer yet")

    m.bind(cache_size=broken, watch_errors=lambda: 4)
    with caplog.at_level(logging.ERROR, logger="prow_graphql.metrics"):
        assert value(m, "prow_graphql_informer_watch_errors_total") == 4.0
    assert value(m, "prow_graphql_informer_cache_size") is None
    assert "metrics provider cache_size failed" in caplog.text


def test_two_instances_do_not_share_values() -> None:
    first, second = Metrics(), Metrics()
    first.observe_prowjob("created")
    first.observe_request("query", "Jobs", "success", 0.1)
    first.subscription_started()
    first.bind(cache_size=lambda: 7)
    assert value(first, "prow_graphql_prowjob_creations_total", result="created") == 1.0
    assert value(second, "prow_graphql_prowjob_creations_total", result="created") == 0.0
    labels = {"operation_type": "query", "operation_name": "Jobs", "outcome": "success"}
    assert value(second, "prow_graphql_requests_total", **labels) is None
    assert value(second, "prow_graphql_active_subscriptions") == 0.0
    assert value(second, "prow_graphql_informer_cache_size") is None
    assert first.registry is not second.registry


def test_the_process_wide_default_registry_is_untouched() -> None:
    from prometheus_client import REGISTRY, generate_latest

    Metrics().observe_prowjob("created")
    assert b"prow_graphql" not in generate_latest(REGISTRY)
