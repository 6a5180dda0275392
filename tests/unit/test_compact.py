"""Slim cached records: shared strings and label maps, no raw object kept."""

from __future__ import annotations

import copy

from prow_graphql.prow.compact import FrozenMap
from prow_graphql.prow.objects import ProwJobRecord


def prowjob(name: str, pull: str) -> dict[str, object]:
    labels = {"prow.k8s.io/job": "pull-unit", "prow.k8s.io/refs.pull": pull}
    return {
        "metadata": {"name": name, "namespace": "prow", "resourceVersion": "7", "labels": labels},
        "spec": {"type": "presubmit", "job": "pull-unit", "refs": {"org": "o", "repo": "r"}},
        "status": {"state": "pending", "pod_name": name, "description": "Job triggered."},
    }


def test_records_share_repeated_strings_and_label_keys() -> None:
    # Built from separate JSON documents, as two list pages would deliver them.
    a = ProwJobRecord.from_object(copy.deepcopy(prowjob("a" * 3, "1")))
    b = ProwJobRecord.from_object(copy.deepcopy(prowjob("b" * 3, "2")))
    assert a.job is b.job and a.description is b.description and a.namespace is b.namespace
    assert a.refs is not None and b.refs is not None and a.refs.org is b.refs.org
    assert isinstance(a.labels, FrozenMap) and isinstance(b.labels, FrozenMap)
    assert a.labels["prow.k8s.io/refs.pull"] == "1"
    assert a.labels == {"prow.k8s.io/job": "pull-unit", "prow.k8s.io/refs.pull": "1"}
    assert a.pod_name is a.name
    assert a.raw == {}


def test_frozen_map_is_a_read_only_mapping() -> None:
    labels = FrozenMap({"k": "v", "n": 3})
    assert dict(labels) == {"k": "v", "n": "3"}
    assert labels.get("missing") is None and "k" in labels and len(labels) == 2
    assert hash(labels) == hash(FrozenMap({"k": "v", "n": "3"}))
