"""A real Kubernetes API server (etcd + kube-apiserver 1.26 with Prow's CRD) for tests.

`../shared/tools/realkube` is not part of this repository: tests that use it skip with a reason
when it (or etcd) is absent, as in a user's fresh clone, and run in CI where `../shared` is laid
beside the clone and `make test` installs etcd. One server is started per test session (about 5 s)
and shared; tests isolate themselves by namespace or by job names, never by wiping it.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.harness import SHARED

REALKUBE = SHARED / "tools" / "realkube" / "realkube"


def skip_reason() -> str | None:
    """Why the real API server cannot run here, or None when it can."""
    if not REALKUBE.exists():
        return f"needs the real API server at {REALKUBE} (../shared beside the clone, as in CI)"
    if shutil.which("etcd") is None:
        return "needs etcd on PATH (`make test` installs Debian's etcd-server)"
    return None


@dataclass
class RealKube:
    """A running realkube: where it listens and how to authenticate."""

    directory: Path
    kubeconfig: Path
    server: str
    token: str

    @property
    def ca_file(self) -> Path:
        return self.directory / "pki" / "ca.crt"

    def client(self, timeout: float = 30) -> httpx.Client:
        """A synchronous HTTP client with the admin token (for set-up and assertions)."""
        return httpx.Client(
            base_url=self.server,
            verify=ssl.create_default_context(cafile=str(self.ca_file)),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )

    def async_client(self, timeout: float = 30) -> httpx.AsyncClient:
        """An asynchronous HTTP client with the admin token."""
        return httpx.AsyncClient(
            base_url=self.server,
            verify=ssl.create_default_context(cafile=str(self.ca_file)),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )

    def restart_apiserver(self) -> None:
        """Restart kube-apiserver only (etcd keeps the data; the watch cache starts anew)."""
        _run("restart-apiserver", self.directory)

    def new_namespace(self, prefix: str = "t") -> str:
        """A fresh namespace, so that a test sees only its own ProwJobs."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        with self.client() as http:
            http.post("/api/v1/namespaces", json=body).raise_for_status()
        return name

    def kubeconfig_for(self, namespace: str, directory: Path) -> Path:
        """A copy of the admin kubeconfig whose context defaults to `namespace`."""
        text = self.kubeconfig.read_text()
        text = text.replace(
            "context: {cluster: realkube, user: realkube-admin}",
            f"context: {{cluster: realkube, user: realkube-admin, namespace: {namespace}}}",
        )
        path = directory / f"kubeconfig-{namespace}"
        path.write_text(text)
        return path

    def stop(self) -> None:
        _run("stop", self.directory)


# kube-apiserver 1.26 bounds its graceful shutdown by --request-timeout (default 1 min), and open
# watches hold it that long (realkube kills it after 20 s): 5 s makes restart_apiserver() take
# ~8 s instead of ~24 s. Watches are unaffected (they time out by timeoutSeconds); ordinary
# requests on loopback answer in milliseconds. A caller's own REALKUBE_APISERVER_ARGS wins.
_APISERVER_ARGS = "--request-timeout=5s"


def _run(command: str, directory: Path, apiserver_args: str = _APISERVER_ARGS) -> str:
    env = {**os.environ}
    env.setdefault("REALKUBE_APISERVER_ARGS", apiserver_args)
    done = subprocess.run(
        [str(REALKUBE), command, str(directory)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        logs = directory / "logs"
        tail = ""
        for log in sorted(logs.glob("*.log")) if logs.exists() else []:
            tail += f"\n--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-20:])
        raise RuntimeError(f"realkube {command} failed: {done.stderr.strip()}{tail}")
    return done.stdout


def start(directory: Path | None = None, apiserver_args: str = _APISERVER_ARGS) -> RealKube:
    """Start a realkube in `directory` (a new temporary one by default) and wait until ready."""
    directory = directory or Path(tempfile.mkdtemp(prefix="realkube-"))
    values: dict[str, str] = {}
    for line in _run("start", directory, apiserver_args).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return RealKube(
        directory=directory,
        kubeconfig=Path(values.get("KUBECONFIG", str(directory / "kubeconfig"))),
        server=values["SERVER"],
        token=values["TOKEN"],
    )


def keep_dir() -> bool:
    """REALKUBE_KEEP=1 leaves the server's directory (logs, etcd data) for a post-mortem."""
    return os.environ.get("REALKUBE_KEEP") == "1"
