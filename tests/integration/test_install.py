"""The package installs beside PyPI's `gql` client: one fresh venv, both usable.

Before the code was installed as `prow_graphql`, both projects installed a top-level `gql`
package and whichever came second broke the other.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.harness import ROOT

# What a source install needs; copied so that the build leaves nothing in the work tree.
# setup.py holds the build step that generates gangway.proto's gRPC code.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "gql")


@pytest.mark.timeout(600)
def test_fresh_venv_holds_prow_graphql_and_pypi_gql(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            # Without the work tree's generated code: the install must generate it.
            ignore = shutil.ignore_patterns("__pycache__", "_generated", "*.egg-info")
            shutil.copytree(source, project / name, ignore=ignore)
        elif source.exists():
            shutil.copy(source, project / name)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(project), "gql"],
        capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"the package registry is not reachable: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr

    cli = subprocess.run(
        [env_dir / "bin" / "prow-graphql", "--help"], capture_output=True, text=True, timeout=60
    )
    assert cli.returncode == 0, cli.stderr
    assert "serve" in cli.stdout

    both = subprocess.run(
        [python, "-c", "from gql import Client, gql; import prow_graphql.cli; "
         "import gql as g; print(g.__file__); print(Client.__module__)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert "site-packages" in both.stdout and both.stdout.splitlines()[1].startswith("gql")
    assert sys.prefix not in both.stdout  # the fresh venv's gql, not this one's

    # `pip install .` generated gangway.proto's gRPC code into the installed package (at build
    # time, with grpcio-tools from the isolated build environment, which is not installed).
    grpc_code = subprocess.run(
        [python, "-c", "import importlib.util as u; from prow_graphql.gangway import codegen; "
         "pb2, stubs = codegen.generated(); print(stubs.__file__); "
         "print(u.find_spec('grpc_tools') is None)"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert grpc_code.returncode == 0, grpc_code.stderr
    stubs_file, no_tools = grpc_code.stdout.splitlines()
    assert Path(stubs_file).parent == Path(
        str(env_dir), "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
        "site-packages", "prow_graphql", "gangway", "_generated",
    )  # fmt: skip
    assert no_tools == "True"
