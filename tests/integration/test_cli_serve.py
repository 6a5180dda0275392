"""The `prow-graphql` command as a user runs it: serve (as `make run` does), export-schema."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.harness import EXAMPLE, ROOT, free_socket


def test_schema_graphql_matches_the_code() -> None:
    """schema.graphql is the exported SDL; regenerate it with `make schema` when this fails."""
    exported = subprocess.run(
        [sys.executable, "-m", "prow_graphql", "export-schema"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert exported == (ROOT / "schema.graphql").read_text(), "run `make schema`"
    for name in ("triggerJob", "prowJobUpdated", "prowJobEvents", "abortProwJob", "rerunProwJob"):
        assert name in exported


async def test_serve_on_the_embedded_backend_prints_the_url_and_answers() -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "prow_graphql",
         "serve", "--backend", "memory", "--dev",
        "--config-path", str(EXAMPLE / "config.yaml"), "--job-config-path", str(EXAMPLE / "jobs"),
        "--port", str(port), "--metrics-port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        url = re.search(r"GraphiQL at (\S+)", line)
        assert url is not None, line
        assert url.group(1) == f"http://127.0.0.1:{port}/graphql"
        async with httpx.AsyncClient(timeout=2) as client:
            async with asyncio.timeout(20):
                while True:
                    try:
                        r = await client.post(
                            url.group(1), json={"query": "{ repos { org repo } }"}
                        )
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            page = await client.get(url.group(1), headers={"accept": "text/html"})
        assert {"org": "example-org", "repo": "widgets"} in r.json()["data"]["repos"]
        assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


def test_kube_backend_without_a_cluster_says_how_to_fix_it(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": ""}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    done = subprocess.run(
        [sys.executable, "-m", "prow_graphql",
         "serve", "--backend", "kube", "--port", str(port),
         "--metrics-port", "0", "--config-path", str(EXAMPLE / "config.yaml")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 2
    output = done.stdout + done.stderr
    assert "--kubeconfig" in output and "--backend memory" in output


def test_bad_flags_and_bad_config_exit_2_with_a_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "prow_graphql",
         "serve", "--config-path", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--config-path" in done.stderr
    bad = tmp_path / "config.yaml"
    bad.write_text(
        "presubmits:\n  o/r:\n    - name: 'bad name!'\n      spec: {containers: [{image: x}]}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "prow_graphql",
         "serve", "--backend", "memory", "--config-path", str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert str(bad) in done.stderr and "bad name!" in done.stderr


async def test_sigterm_ends_open_sse_subscriptions_within_the_shutdown_timeout() -> None:
    """An SSE subscription never ends by itself: SIGTERM must still stop the server, bounded by
    --shutdown-timeout, or a rollout waits for Kubernetes to kill the pod."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "prow_graphql",
        "serve", "--backend", "memory", "--dev", "--shutdown-timeout", "2",
        "--sim-pending-after", "0.1", "--sim-complete-after", "600",
        "--config-path", str(EXAMPLE / "config.yaml"), "--job-config-path", str(EXAMPLE / "jobs"),
        "--port", str(port), "--metrics-port", "0",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/graphql"
    trigger = (
        'mutation { triggerJob(input: {org: "example-org", repo: "widgets", '
        'job: "pull-widgets-unit", type: PRESUBMIT, baseRef: "main", '
        "pullRequest: {number: 1}}) { ... on TriggerJobSuccess { prowJob { name } } } }"
    )
    follow = "subscription($n: String!) { prowJobUpdated(name: $n) { state } }"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            async with asyncio.timeout(20):
                while True:
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/readyz")).is_success:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            created = (await client.post(url, json={"query": trigger})).json()
            name = created["data"]["triggerJob"]["prowJob"]["name"]
            body = {"query": follow, "variables": {"n": name}}
            headers = {"accept": "text/event-stream"}
            async with client.stream("POST", url, json=body, headers=headers) as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                async with asyncio.timeout(10):
                    while "TRIGGERED" not in (await anext(lines)):
                        pass
                loop = asyncio.get_running_loop()
                started = loop.time()
                proc.terminate()
                # Generous bound: 2 s of grace plus start-up slack on a busy machine.
                await asyncio.wait_for(proc.wait(), 12)
                assert loop.time() - started < 12
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
