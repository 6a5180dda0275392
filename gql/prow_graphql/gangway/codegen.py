"""Python code for gangway.proto, generated with grpcio-tools on first use (never committed).

The generated modules go to a per-user cache directory named after the proto's hash, so a changed
.proto regenerates and concurrent processes never see a half-written file (write, then rename).
They are imported as the top-level `gangway_pb2` / `gangway_pb2_grpc` that protoc's output
expects; callers get them as untyped modules (mypy checks our code, not protoc's).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path
from types import ModuleType

from prow_graphql.errors import ConfigError

PROTO_NAME = "gangway.proto"


def proto_text() -> str:
    """The .proto this package serves."""
    return resources.files(__package__).joinpath(PROTO_NAME).read_text(encoding="utf-8")


@functools.cache
def generated() -> tuple[ModuleType, ModuleType]:
    """(gangway_pb2, gangway_pb2_grpc), generating them if this proto has not been yet."""
    text = proto_text()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    base = Path(os.environ.get("PROW_GRAPHQL_CACHE_DIR") or tempfile.gettempdir())
    target = base / f"prow-graphql-gangway-{digest}-{os.getuid()}"
    if not (target / "gangway_pb2_grpc.py").exists():
        _generate(text, target)
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
    return importlib.import_module("gangway_pb2"), importlib.import_module("gangway_pb2_grpc")


def _generate(text: str, target: Path) -> None:
    from grpc_tools import protoc  # build-time tool: imported only when generating

    includes = resources.files("grpc_tools").joinpath("_proto")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        (work / PROTO_NAME).write_text(text, encoding="utf-8")
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{work}",
                f"-I{includes}",
                f"--python_out={work}",
                f"--grpc_python_out={work}",
                str(work / PROTO_NAME),
            ]
        )
        if status != 0:
            raise ConfigError(f"protoc could not compile {PROTO_NAME} (exit status {status})")
        try:
            work.rename(target)
        except OSError:
            if not (target / "gangway_pb2_grpc.py").exists():  # not a concurrent winner: real
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
