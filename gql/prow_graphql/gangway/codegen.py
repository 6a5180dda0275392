"""Python code for gangway.proto, generated with grpcio-tools when the package is built.

setup.py's `build_gangway_proto` step writes `prow_graphql.gangway._generated` (never committed):
into the wheel for `pip install .`, into the source tree for `pip install -e .` and `make proto`.
Nothing is generated at run time: generating into a shared directory such as /tmp and importing
from it would let another local user plant code in the gateway, and it needed grpcio-tools at run
time. Callers get the modules as untyped ModuleTypes (mypy checks our code, not protoc's).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from importlib import resources
from types import ModuleType

from prow_graphql.errors import ConfigError

PROTO_NAME = "gangway.proto"
GENERATED = f"{__package__}._generated"
HOW_TO_GENERATE = (
    "run `make proto` in a source checkout, or reinstall the package "
    "(`pip install .` or `pip install -e .`), which generates it with grpcio-tools"
)


def proto_text() -> str:
    """The .proto this package serves."""
    return resources.files(__package__).joinpath(PROTO_NAME).read_text(encoding="utf-8")


def _proto_bytes() -> bytes:
    # Bytes, as setup.py hashes them: text mode could translate newlines.
    return resources.files(__package__).joinpath(PROTO_NAME).read_bytes()


@functools.cache
def generated() -> tuple[ModuleType, ModuleType]:
    """(gangway_pb2, gangway_pb2_grpc), as generated when the package was built."""
    try:
        package = importlib.import_module(GENERATED)
        pb2 = importlib.import_module(f"{GENERATED}.gangway_pb2")
        pb2_grpc = importlib.import_module(f"{GENERATED}.gangway_pb2_grpc")
    except ModuleNotFoundError as exc:
        # Only the generated package itself is "missing code"; a missing grpc or protobuf is a
        # broken installation, reported as it is.
        if not (exc.name or "").startswith(GENERATED):
            raise
        raise ConfigError(
            f"the gRPC code for {PROTO_NAME} ({GENERATED}) is missing: {HOW_TO_GENERATE}"
        ) from exc
    # An editable install keeps the generated code in the source tree: after an edit of the
    # .proto it is stale until regenerated, and serving stale messages would be silently wrong.
    digest = hashlib.sha256(_proto_bytes()).hexdigest()
    if getattr(package, "PROTO_SHA256", None) != digest:
        raise ConfigError(
            f"the gRPC code in {GENERATED} was generated from another {PROTO_NAME}: "
            f"{HOW_TO_GENERATE}"
        )
    return pb2, pb2_grpc
