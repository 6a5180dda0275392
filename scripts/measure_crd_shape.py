"""Print what shaping by Prow's CRD costs per ProwJob, over every job of a Prow config.

    .venv/bin/python scripts/measure_crd_shape.py [CONFIG_YAML JOB_CONFIG_DIR]

Defaults to ../shared/fixtures/prow/kubevirt. Builds each job as triggerJob would (presubmits
with a pull request), then times `shape_prowjob` alone and the whole `build_prowjob` (which
includes it), `REPEAT` times each; prints p50 / p90 / max in microseconds.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from prow_graphql.prow.crd_shape import shape_prowjob
from prow_graphql.prow.jobs import Job, Periodic, Postsubmit
from prow_graphql.prow.loader import ConfigLoader
from prow_graphql.prow.objects import ProwJobType, Pull
from prow_graphql.prow.prowjob import build_prowjob, new_refs

REPEAT = 5
KUBEVIRT = Path("../shared/fixtures/prow/kubevirt")


def main() -> None:
    config, jobs = (sys.argv[1], sys.argv[2]) if len(sys.argv) > 2 else (
        str(KUBEVIRT / "config.yaml"), str(KUBEVIRT / "jobs"))  # fmt: skip
    index = ConfigLoader(config, jobs).load()
    now = datetime.now(UTC)
    everything: list[Job] = [*index.periodics]
    for org_repo in index.repos():
        everything += [*index.presubmits(org_repo), *index.postsubmits(org_repo)]

    def build(job: Job) -> dict[str, object]:
        if isinstance(job, Periodic):
            return build_prowjob(job, run_as=ProwJobType.PERIODIC, refs=None,
                                 scheduler_enabled=False, now=now)  # fmt: skip
        org, repo = job.org_repo.split("/", 1)
        if isinstance(job, Postsubmit):
            refs = new_refs("https://github.com", org, repo, "main")
            return build_prowjob(job, run_as=ProwJobType.POSTSUBMIT, refs=refs,
                                 scheduler_enabled=False, now=now)  # fmt: skip
        refs = new_refs("https://github.com", org, repo, "main", pull=Pull(number=1))
        return build_prowjob(job, run_as=ProwJobType.PRESUBMIT, refs=refs,
                             scheduler_enabled=False, now=now)  # fmt: skip

    shaping: list[float] = []
    building: list[float] = []
    for job in everything:
        obj = build(job)
        for _ in range(REPEAT):
            started = time.perf_counter()
            shape_prowjob(obj)
            shaping.append(time.perf_counter() - started)
            started = time.perf_counter()
            build(job)
            building.append(time.perf_counter() - started)
    for label, timings in (("shape_prowjob", shaping), ("build_prowjob (incl. shaping)", building)):
        timings.sort()
        p50 = statistics.median(timings) * 1e6
        p90 = timings[int(len(timings) * 0.9)] * 1e6
        print(f"{label}: {len(everything)} jobs x {REPEAT}: p50 {p50:.0f} us, "
              f"p90 {p90:.0f} us, max {timings[-1] * 1e6:.0f} us")  # fmt: skip


if __name__ == "__main__":
    main()
