"""Derive the package's compact ProwJob schema from Prow's CRD (run by `make crd-schema`).

Reads the CRD YAML (default: ../shared/fixtures/prow/crd/prowjob_customresourcedefinition.yaml,
kubernetes-sigs/prow at a619408, Apache-2.0) and writes its v1 `openAPIV3Schema` without the
documentation keys, so the package carries only what shaping and validation read. The output is
deterministic (sorted keys, no whitespace) so a regeneration shows as a real diff or none.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CRD = Path("../shared/fixtures/prow/crd/prowjob_customresourcedefinition.yaml")
DEFAULT_OUT = Path("gql/prow_graphql/prow/data/prowjob_schema.json")
# Everything else (description, x-kubernetes-map-type, ...) changes neither shape nor validity.
KEEP = frozenset(
    {
        "type",
        "properties",
        "items",
        "required",
        "additionalProperties",
        "anyOf",
        "not",
        "enum",
        "pattern",
        "default",
        "format",
        "minimum",
        "nullable",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
    }
)


def compact(node: Any) -> Any:
    """The schema node with only the kept keys, recursively."""
    if isinstance(node, list):
        return [compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: compact(sub) for name, sub in value.items()}
        elif key in KEEP:
            out[key] = compact(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crd", type=Path, default=DEFAULT_CRD)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    crd = yaml.safe_load(args.crd.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = compact(version["schema"]["openAPIV3Schema"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(schema, sort_keys=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
