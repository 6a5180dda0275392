"""The real kubevirt Prow config (../shared/fixtures/prow/kubevirt) loads cleanly with SOURCE.md's
counts, and a few of its jobs come out defaulted as Prow would have them."""

from __future__ import annotations

from pathlib import Path

import pytest

from prow_graphql.prow.config import parse_prow_config
from prow_graphql.prow.jobs import Presubmit
from prow_graphql.prow.loader import ConfigLoader, JobIndex, parse_yaml_file
from prow_graphql.prow.objects import ProwJobType

FIXTURE = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "prow" / "kubevirt"

pytestmark = pytest.mark.skipif(
    not (FIXTURE / "config.yaml").is_file(),
    reason=f"the shared kubevirt fixture is not checked out beside the repo ({FIXTURE})",
)


@pytest.fixture(scope="module")
def kubevirt() -> JobIndex:
    return ConfigLoader(FIXTURE / "config.yaml", FIXTURE / "jobs").load()


def test_counts_match_source_md(kubevirt: JobIndex) -> None:
    assert len(kubevirt.files) == 1 + 216
    assert kubevirt.counts.presubmits == 1399
    assert sum(1 for repo in kubevirt.repos() if kubevirt.presubmits(repo)) == 44
    assert kubevirt.counts.postsubmits == 109
    assert kubevirt.counts.periodics == 147
    config = parse_prow_config(parse_yaml_file(str(FIXTURE / "config.yaml")), "config.yaml")
    assert len(config.presets) == 22
    assert len(kubevirt.config.presets) == 22  # the job files add none


def test_config_yaml_values(kubevirt: JobIndex) -> None:
    config = kubevirt.config
    assert config.prowjob_namespace == "kubevirt-prow-jobs"
    assert config.pod_namespace == "kubevirt-prow-jobs"
    assert config.decorate_all_jobs is True
    assert config.plank.job_url_prefix_config == {"*": "https://prow.ci.kubevirt.io/view/"}
    assert config.plank.job_url_template.startswith("https://prow.ci.kubevirt.io/view/gs/")
    assert len(config.plank.default_decoration_config_entries) == 1
    assert [(e.repo, e.cluster) for e in config.deck.rerun_auth_config_entries] == [
        ("", "*"),
        ("", "prow-s390x-workloads"),
    ]


def test_a_presubmit_is_defaulted_with_decoration_and_presets(kubevirt: JobIndex) -> None:
    job = kubevirt.find(
        ProwJobType.PRESUBMIT,
        "kubevirt/kubevirt",
        "pull-kubevirt-e2e-k8s-1.36-sig-performance",
        "main",
    )
    assert isinstance(job, Presubmit)
    assert (job.cluster, job.namespace, job.agent) == (
        "prow-workloads",
        "kubevirt-prow-jobs",
        "kubernetes",
    )
    assert job.decoration_config is not None
    assert job.decoration_config["timeout"] == "2h0m0s"  # the job's own value
    assert job.decoration_config["gcs_configuration"] == {
        "bucket": "kubevirt-prow",
        "path_strategy": "explicit",
    }
    env = [e.name for e in job.containers[0].env]
    assert env[:2] == ["KUBEVIRT_PROVIDER", "KUBEVIRT_STORAGE"]
    # preset-docker-mirror-proxy: "true" adds these three
    assert {"CA_CERT_FILE", "CONTAINER_HTTP_PROXY", "CONTAINER_HTTPS_PROXY"} <= set(env)
    assert job.prowjob_defaults == {"tenant_id": "GlobalDefaultID"}


def test_release_branch_copies_are_told_apart_by_branch(kubevirt: JobIndex) -> None:
    name = "pull-e2e-cluster-network-addons-operator-lifecycle-k8s"
    repo = "kubevirt/cluster-network-addons-operator"
    on_release = kubevirt.find(ProwJobType.PRESUBMIT, repo, name, "release-0.39")
    on_main = kubevirt.find(ProwJobType.PRESUBMIT, repo, name, "main")
    assert on_release.source_path.endswith("cluster-network-addons-operator-presubmits-0.39.yaml")
    assert on_main.source_path.endswith("cluster-network-addons-operator-presubmits.yaml")
