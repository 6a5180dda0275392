"""gangway.proto's gRPC code is generated when the package is built, never at run time.

The gateway used to run protoc on first use into a predictable directory under /tmp and put it
first on sys.path, so another local user could plant the modules it imported. These tests check
that the runtime only imports `prow_graphql.gangway._generated` from the package (writing
nothing, adding nothing to sys.path), fails clearly without it, and that a wheel built from a
bare source tree carries the generated modules and does not depend on grpcio-tools.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from prow_graphql.errors import ConfigError
from prow_graphql.gangway import codegen

ROOT = Path(__file__).resolve().parents[2]
GENERATED_FILES = ("__init__.py", "gangway_pb2.py", "gangway_pb2_grpc.py")


@pytest.fixture
def fresh_generated() -> Iterator[None]:
    """generated() is cached per process; each test here starts and ends uncached."""
    codegen.generated.cache_clear()
    yield
    codegen.generated.cache_clear()


# Run in a fresh interpreter so that nothing is already imported or cached, with an audit hook
# that records every file opened for writing, every directory created and every rename, and with
# TMPDIR and the old cache variable pointing at a directory that must stay empty.
_PROBE = r"""
import json, os, sys

events = []

def hook(event, args):
    if event == "open" and args[0] is not None and (
        (isinstance(args[1], str) and any(c in args[1] for c in "wax+"))
        or (isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
    ):
        events.append([event, str(args[0])])
    elif event in ("os.mkdir", "os.rename", "os.replace", "tempfile.mkdtemp", "tempfile.mkstemp"):
        events.append([event, str(args[0])])

before = list(sys.path)
sys.addaudithook(hook)
from prow_graphql.gangway import codegen
pb2, pb2_grpc = codegen.generated()
print(json.dumps({
    "events": events,
    "added_to_path": [p for p in sys.path if p not in before],
    "modules": [pb2.__name__, pb2_grpc.__name__],
    "files": [pb2.__file__, pb2_grpc.__file__],
    "stub": hasattr(pb2_grpc, "ProwStub"),
}))
"""


def test_runtime_imports_from_the_package_and_writes_nothing(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "PROW_GRAPHQL_CACHE_DIR": str(tmp),
        "PYTHONDONTWRITEBYTECODE": "1",  # bytecode caches are the interpreter's writes, not ours
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["events"] == [], "generated() wrote to the file system"
    assert probe["added_to_path"] == []
    assert probe["modules"] == [
        "prow_graphql.gangway._generated.gangway_pb2",
        "prow_graphql.gangway._generated.gangway_pb2_grpc",
    ]
    package_dir = Path(codegen.__file__).parent / "_generated"
    assert [Path(f).parent for f in probe["files"]] == [package_dir, package_dir]
    assert probe["stub"]
    assert list(tmp.iterdir()) == []


def test_codegen_has_no_shared_directory_or_generator() -> None:
    # The source itself: no temp directory, no protoc, no sys.path manipulation at run time.
    source = Path(codegen.__file__).read_text(encoding="utf-8")
    for needle in ("tempfile", "gettempdir", "grpc_tools", "sys.path", "PROW_GRAPHQL_CACHE_DIR"):
        assert needle not in source, needle


def test_missing_generated_code_says_how_to_generate_it(
    fresh_generated: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `None` in sys.modules makes the import fail as it does in a bare source tree.
    monkeypatch.setitem(sys.modules, codegen.GENERATED, None)
    with pytest.raises(ConfigError, match=r"is missing: run `make proto`.*reinstall"):
        codegen.generated()


def test_code_generated_from_another_proto_is_refused(
    fresh_generated: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = importlib.import_module(codegen.GENERATED)
    monkeypatch.setattr(package, "PROTO_SHA256", "0" * 64)
    with pytest.raises(ConfigError, match=r"another gangway\.proto: run `make proto`"):
        codegen.generated()


def _pin(requirements: list[str], name: str) -> str:
    [version] = [
        m.group(1)
        for r in requirements
        if (m := re.fullmatch(rf"{re.escape(name)}\s*==\s*([\w.]+)", r.strip()))
    ]
    return version


def test_grpcio_tools_is_a_pinned_build_requirement_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    build_pin = _pin(project["build-system"]["requires"], "grpcio-tools")
    runtime = project["project"]["dependencies"]
    assert not any(r.startswith("grpcio-tools") for r in runtime)
    # The generated code refuses an older grpcio than the grpcio-tools that generated it.
    assert f"grpcio>={build_pin}" in runtime
    # The dev extra installs the same generator, so `make proto` matches a wheel build.
    assert _pin(project["project"]["optional-dependencies"]["dev"], "grpcio-tools") == build_pin


def _copy_source(dest: Path) -> None:
    """The files a wheel is built from, without any generated code or build leftovers."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "gql",
        dest / "gql",
        ignore=shutil.ignore_patterns("_generated", "__pycache__", "*.egg-info"),
    )


@pytest.mark.timeout(300)
def test_wheel_build_generates_the_grpc_code_into_the_wheel(tmp_path: Path) -> None:
    # Offline: --no-build-isolation uses the build requirements the dev extra installed, and
    # --no-index makes sure pip never reaches for a registry.
    for module in ("setuptools", "wheel", "grpc_tools"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (dev extra): cannot build a wheel offline")
    source, dist = tmp_path / "src", tmp_path / "dist"
    _copy_source(source)
    assert not (source / "gql/prow_graphql/gangway/_generated").exists()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=280,
    )
    [wheel] = dist.glob("prow_graphql-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in GENERATED_FILES:
            assert f"prow_graphql/gangway/_generated/{name}" in names, name
        stub = archive.read("prow_graphql/gangway/_generated/gangway_pb2_grpc.py").decode()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.removeprefix("Requires-Dist:").strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert "from . import gangway_pb2 as" in stub  # importable inside the package
    runtime = [r for r in requires if "extra ==" not in r]
    assert runtime and not any(r.startswith("grpcio-tools") for r in runtime), runtime
    # The build wrote only into its own build directory, never into the source package.
    assert not (source / "gql/prow_graphql/gangway/_generated").exists()
