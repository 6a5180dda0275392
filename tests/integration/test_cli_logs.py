"""`prow-graphql trigger --follow --logs` as a real subprocess: the test output between the
progress lines, on the embedded backend and against the fake API server's pods/log."""

from __future__ import annotations

import io
from pathlib import Path

from prow_graphql.client.output import Progress
from tests.conftest import kube_gateway
from tests.harness import wait_ready
from tests.integration.test_cli_client import WIDGETS, cli, gateway, progress_states

PRESUBMIT = ["--job", "pull-widgets-unit", "--pr", "3"]


async def test_follow_logs_prints_the_test_output_then_the_verdict() -> None:
    async with gateway() as gw:
        run = await cli("trigger", "--url", gw.url, *WIDGETS, *PRESUBMIT, "--follow", "--logs")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    log = [line for line in lines if not line.startswith(("[", "triggered ", "status: "))]
    assert log[0].startswith("+ ./hack/run-tests.sh") and log[-2:] == [
        "PASS",
        "ok  \texample.com/widgets\t0.123s",
    ]
    assert [s["state"] for s in progress_states(run.stdout)][-1] == "SUCCESS"
    # the log comes before the final state's line: output as it happened
    assert lines.index("PASS") < max(i for i, line in enumerate(lines) if "SUCCESS" in line)


async def test_json_follow_logs_from_the_fake_api_server(tmp_path: Path) -> None:
    async with kube_gateway(tmp_path) as gw:
        await wait_ready(gw)
        run = await cli(
            "trigger", "--url", gw.url, *WIDGETS, *PRESUBMIT, "--follow", "--logs", "--json"
        )
    assert run.code == 0, run.stderr
    logged = [line for line in run.stdout.splitlines() if line.startswith('{"log"')]
    assert '"kind":"ENDED"' in logged[-1]
    assert any('"PASS"' in line for line in logged)


async def test_logs_needs_follow() -> None:
    run = await cli("trigger", "--url", "http://127.0.0.1:9", *WIDGETS, *PRESUBMIT, "--logs")
    assert run.code == 2 and "--logs needs --follow" in run.stderr


def test_log_lines_go_above_the_live_progress_line() -> None:
    out = io.StringIO()
    progress = Progress(out, live=True, width=80)
    progress.update({"state": "PENDING", "buildId": "7"}, 1.0)
    progress.print_above(["hello"])
    text = out.getvalue()
    assert text.endswith("\r\x1b[Khello\n\r[   1.0s] PENDING    build 7\x1b[K")
