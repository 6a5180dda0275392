"""Offline checks of deploy/ (kustomize), the Dockerfile and .dockerignore.

The kustomizations are rendered by the real `kubectl kustomize` (tests/kubectl.py); every
manifest and every rendered object is validated against the Kubernetes OpenAPI schemas shipped by
`kubernetes-validate` (strict: unknown fields are errors); the Dockerfile, which Docker cannot
build here, is read with `dockerfile-parse`. Applying the rendered objects to a real API server
and running the gateway with their ServiceAccount is tests/integration/test_deploy_realkube.py.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]

from tests.kubectl import kustomize, write_overlay

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "base"
ABORT = DEPLOY / "components" / "abort"
EXAMPLE = DEPLOY / "overlays" / "example"

# Oldest Kubernetes minor the manifests promise to fit (docs/deploy.md), and the newest schema
# the installed kubernetes-validate ships.
KUBE_VERSIONS = ("1.27", kubernetes_validate.latest_version())

Obj = dict[str, Any]


def _load_documents(path: Path) -> list[Obj]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


# --------------------------------------------------------------------------------------------
# Helpers over rendered objects.
# --------------------------------------------------------------------------------------------


def one(objects: list[Obj], kind: str) -> Obj:
    """The single object of `kind`."""
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(objects: list[Obj]) -> dict[str, Any]:
    """The gateway container of the Deployment (the only one)."""
    containers = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["prow-graphql"]
    result: dict[str, Any] = containers[0]
    return result


def flags(args: list[str]) -> dict[str, list[str]]:
    """`--name=value` / `--name value` / `--switch` arguments → name → values, in order."""
    result: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("--"):
            continue
        name, eq, value = arg.partition("=")
        if not eq and i < len(args) and not args[i].startswith("--"):
            value = args[i]
            i += 1
        result.setdefault(name, []).append(value)
    return result


def expand_env(obj: Obj, args: list[str]) -> list[str]:
    """Expand `$(VAR)` the way the kubelet does, for the env vars this Deployment declares."""
    env: dict[str, str] = {}
    for var in container([obj])["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        elif var["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}:
            env[var["name"]] = obj["metadata"].get("namespace", "default")
    return [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m.group(1)], a) for a in args]


def container_list(obj: Obj) -> list[dict[str, Any]]:
    """The containers of a pod-template object."""
    result: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return result


def serve_parser() -> argparse.ArgumentParser:
    """The real `prow-graphql serve` flag parser, so manifests and CLI cannot drift apart."""
    from prow_graphql.settings import add_serve_arguments

    parser = argparse.ArgumentParser(prog="prow-graphql serve", allow_abbrev=False)
    add_serve_arguments(parser)
    return parser


# --------------------------------------------------------------------------------------------
# Fixtures: the three builds that matter.
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base() -> list[Obj]:
    return kustomize(BASE)


@pytest.fixture(scope="module")
def base_with_abort(tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    directory = tmp_path_factory.mktemp("abort")
    return kustomize(write_overlay(directory, (BASE,), (ABORT,)))


@pytest.fixture(scope="module")
def example() -> list[Obj]:
    return kustomize(EXAMPLE)


BUILDS = ("base", "base_with_abort", "example")


# --------------------------------------------------------------------------------------------
# Schema validation.
# --------------------------------------------------------------------------------------------


def _schema_errors(obj: Obj) -> list[str]:
    errors = []
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            errors.append(f"{name} (Kubernetes {version}) at {where}: {exc.message}")
    return errors


def _base_files() -> list[Path]:
    return sorted(p for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", _base_files(), ids=lambda p: p.name)
def test_base_manifest_files_validate_against_kubernetes_schemas(path: Path) -> None:
    documents = _load_documents(path)
    assert documents, f"{path} is empty"
    assert [e for obj in documents for e in _schema_errors(obj)] == []


def test_base_kustomization_lists_every_manifest_file() -> None:
    listed = _load_documents(BASE / "kustomization.yaml")[0]["resources"]
    assert sorted(listed) == [p.name for p in _base_files()]


def test_schema_validation_catches_a_misspelt_field(base: list[Obj]) -> None:
    broken = copy.deepcopy(one(base, "Deployment"))
    security = container([broken])["securityContext"]
    security["readOnlyRootFilesytem"] = security.pop("readOnlyRootFilesystem")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSIONS[0], strict=True)


@pytest.mark.parametrize("build", BUILDS)
def test_rendered_objects_validate_against_kubernetes_schemas(
    build: str, request: pytest.FixtureRequest
) -> None:
    objects: list[Obj] = request.getfixturevalue(build)
    assert [e for obj in objects for e in _schema_errors(obj)] == []


# --------------------------------------------------------------------------------------------
# What the base contains, and RBAC.
# --------------------------------------------------------------------------------------------


def test_base_objects_and_no_prow_configmaps_of_its_own(base: list[Obj]) -> None:
    assert sorted((o["kind"], o["metadata"]["name"]) for o in base) == [
        ("Deployment", "prow-graphql"),
        ("PodDisruptionBudget", "prow-graphql"),
        ("Role", "prow-graphql"),
        ("RoleBinding", "prow-graphql"),
        ("Service", "prow-graphql"),
        ("ServiceAccount", "prow-graphql"),
    ]
    for obj in base:
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "prow-graphql"


def _role_verbs(objects: list[Obj]) -> list[str]:
    rules = one(objects, "Role")["rules"]
    assert rules == [
        {"apiGroups": ["prow.k8s.io"], "resources": ["prowjobs"], "verbs": rules[0]["verbs"]}
    ]
    verbs: list[str] = rules[0]["verbs"]
    return verbs


def test_role_is_least_privilege(base: list[Obj]) -> None:
    assert _role_verbs(base) == ["get", "list", "watch", "create"]


@pytest.mark.parametrize("build", ["base_with_abort", "example"])
def test_abort_component_adds_patch_verb_and_flag(
    build: str, request: pytest.FixtureRequest
) -> None:
    objects: list[Obj] = request.getfixturevalue(build)
    assert _role_verbs(objects) == ["get", "list", "watch", "create", "patch"]
    assert flags(container(objects)["args"])["--enable-abort"] == [""]


def test_base_does_not_enable_abort(base: list[Obj]) -> None:
    assert "--enable-abort" not in flags(container(base)["args"])


@pytest.mark.parametrize("build", BUILDS)
def test_rolebinding_grants_the_role_to_the_pods_service_account(
    build: str, request: pytest.FixtureRequest
) -> None:
    objects: list[Obj] = request.getfixturevalue(build)
    binding = one(objects, "RoleBinding")
    account = one(objects, "ServiceAccount")
    deployment = one(objects, "Deployment")
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role"}
    assert binding["roleRef"] == {**role_ref, "name": one(objects, "Role")["metadata"]["name"]}
    [subject] = binding["subjects"]
    pod = deployment["spec"]["template"]["spec"]
    assert subject["kind"] == "ServiceAccount"
    assert subject["name"] == account["metadata"]["name"] == pod["serviceAccountName"]
    # An empty subject namespace means the binding's own (kube-apiserver's RBAC rule).
    subject_namespace = subject.get("namespace") or binding["metadata"].get("namespace")
    assert subject_namespace == account["metadata"].get("namespace")
    assert subject_namespace == deployment["metadata"].get("namespace")


# --------------------------------------------------------------------------------------------
# The Deployment.
# --------------------------------------------------------------------------------------------


def test_deployment_security_context(base: list[Obj]) -> None:
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is True
    # A Service named prow-graphql would otherwise inject PROW_GRAPHQL_PORT=tcp://... and friends.
    assert pod["enableServiceLinks"] is False
    assert container(base)["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_deployment_replicas_resources_and_spread(base: list[Obj]) -> None:
    deployment = one(base, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert container(base)["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "prow-graphql"}
    assert selector.items() <= pod_labels.items()
    affinity = deployment["spec"]["template"]["spec"]["affinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity["podAntiAffinity"]
    [term] = affinity["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= pod_labels.items()


def _port_number(spec: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    [number] = [p["containerPort"] for p in spec["ports"] if p["name"] == port]
    assert isinstance(number, int)
    return number


def test_probes_hit_health_endpoints_on_the_http_port(base: list[Obj]) -> None:
    spec = container(base)
    assert _port_number(spec, "http") == 8080
    assert _port_number(spec, "metrics") == 9090
    expected = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
        "startupProbe": "/healthz",
    }
    for probe, path in expected.items():
        get = spec[probe]["httpGet"]
        assert (get["path"], _port_number(spec, get["port"])) == (path, 8080), probe


def _mounts(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in spec["volumeMounts"]}


def test_config_mounts_are_prows_configmaps_read_only(base: list[Obj]) -> None:
    spec = container(base)
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = _mounts(spec)
    assert set(volumes) == set(mounts), "every volume is mounted and every mount has a volume"
    assert volumes["config"]["configMap"] == {"name": "config"}
    assert volumes["job-config"]["configMap"] == {"name": "job-config"}
    assert volumes["tokens"]["secret"] == {
        "secretName": "prow-graphql-tokens",
        "optional": True,
        "defaultMode": 0o440,
    }
    assert volumes["tmp"]["emptyDir"]["sizeLimit"] == "64Mi"
    for name, mount in mounts.items():
        # subPath mounts never see ConfigMap updates, which would defeat config reloading.
        assert "subPath" not in mount, name
        assert mount.get("readOnly", False) is (name != "tmp"), name
    assert mounts["tmp"]["mountPath"] == "/tmp"
    args = flags(container(base)["args"])
    # The key Prow stores config.yaml under becomes a file in the mounted directory.
    assert args["--config-path"] == [mounts["config"]["mountPath"] + "/config.yaml"]
    assert args["--job-config-path"] == [mounts["job-config"]["mountPath"]]


def test_base_args_are_the_in_cluster_defaults(base: list[Obj]) -> None:
    args = container(base)["args"]
    assert args[0] == "serve"
    parsed = flags(args)
    assert parsed["--backend"] == ["kube"]
    assert parsed["--host"] == ["0.0.0.0"]
    assert parsed["--port"] == ["8080"]
    assert parsed["--metrics-port"] == ["9090"]
    assert "--auth" not in parsed, "the auth mode is an installation's choice (overlay)"
    assert parsed["--namespace"] == ["$(POD_NAMESPACE)"]
    [env] = [e for e in container(base)["env"] if e["name"] == "POD_NAMESPACE"]
    assert env["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


# --------------------------------------------------------------------------------------------
# Service and PodDisruptionBudget.
# --------------------------------------------------------------------------------------------


def test_service_exposes_http_metrics_and_grpc(base: list[Obj]) -> None:
    service = one(base, "Service")
    spec = container(base)
    ports = {
        p["name"]: (p["port"], _port_number(spec, p["targetPort"]))
        for p in service["spec"]["ports"]
    }
    assert ports == {"http": (80, 8080), "metrics": (9090, 9090), "grpc": (32000, 32000)}
    assert f"--grpc-port={_port_number(spec, 'grpc')}" in spec["args"]
    pod_labels = one(base, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_disruption_budget_keeps_one_pod_and_allows_drains(base: list[Obj]) -> None:
    budget = one(base, "PodDisruptionBudget")
    deployment = one(base, "Deployment")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


# --------------------------------------------------------------------------------------------
# The example overlay.
# --------------------------------------------------------------------------------------------


def test_example_puts_everything_in_the_prow_namespace(example: list[Obj]) -> None:
    assert {o["metadata"].get("namespace") for o in example} == {"prow"}
    assert one(example, "RoleBinding")["subjects"][0]["namespace"] == "prow"


def test_example_image_and_args(example: list[Obj]) -> None:
    spec = container(example)
    assert spec["image"] == "registry.example.com/prow-graphql:0.1.0"
    args = flags(spec["args"])
    assert args["--auth"] == ["token"]
    assert args["--deck-url"] == ["https://prow.example.com"]
    [token_file] = args["--token-file"]
    tokens = _mounts(spec)["tokens"]["mountPath"]
    assert token_file == f"{tokens}/tokens.yaml", "the token file lives in the Secret's mount"


def test_example_args_are_accepted_by_the_real_cli(example: list[Obj]) -> None:
    deployment = one(example, "Deployment")
    args = expand_env(deployment, container(example)["args"])
    assert args[0] == "serve"
    parsed = serve_parser().parse_args(args[1:])
    assert parsed.backend == "kube"
    assert parsed.auth == "token"
    assert parsed.enable_abort is True
    assert parsed.namespace == "prow"
    assert parsed.deck_url == "https://prow.example.com"
    assert (parsed.port, parsed.metrics_port, parsed.grpc_port) == (8080, 9090, 32000)
    assert str(parsed.config_path) == "/etc/config/config.yaml"


# --------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore.
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def _stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    stages: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages and instruction["instruction"] != "COMMENT":
            stages[-1].append(instruction)
    return stages


def _values(stage: list[dict[str, Any]], instruction: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == instruction]


def test_dockerfile_is_multi_stage_on_the_same_slim_python(dockerfile: DockerfileParser) -> None:
    assert dockerfile.is_multistage
    stages = _stages(dockerfile)
    assert len(stages) == 2
    builder, final = (_values(s, "FROM")[0] for s in stages)
    assert builder == "python:3.11-slim AS builder"
    # The venv copied from the builder points at the builder's interpreter path.
    assert final == "python:3.11-slim"


def test_dockerfile_final_stage_runs_as_uid_1000(dockerfile: DockerfileParser) -> None:
    final = _stages(dockerfile)[-1]
    users = _values(final, "USER")
    assert users, "the final stage must set USER"
    user, _, group = users[-1].partition(":")
    # Numeric, so the kubelet can check runAsNonRoot without an /etc/passwd lookup.
    assert (user, group or "1000") == ("1000", "1000")


def test_dockerfile_final_stage_has_no_build_tools(dockerfile: DockerfileParser) -> None:
    final = _stages(dockerfile)[-1]
    forbidden = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|nodejs|npm|pip install)\b")
    for command in _values(final, "RUN"):
        assert not forbidden.search(command), command
    copies = _values(final, "COPY")
    assert copies == ["--from=builder /opt/venv /opt/venv"], "only the built venv is copied in"


def test_dockerfile_final_stage_runtime(dockerfile: DockerfileParser) -> None:
    final = _stages(dockerfile)[-1]
    assert [json.loads(v) for v in _values(final, "ENTRYPOINT")] == [["prow-graphql"]]
    assert _values(final, "WORKDIR") == ["/app"]
    assert [p for v in _values(final, "EXPOSE") for p in v.split()] == ["8080", "9090", "32000"]
    env = dockerfile.envs
    assert (env["PYTHONDONTWRITEBYTECODE"], env["PYTHONUNBUFFERED"]) == ("1", "1")
    assert env["PATH"].split(":")[0] == "/opt/venv/bin"


def test_dockerfile_cmd_matches_the_deployment(
    dockerfile: DockerfileParser, base: list[Obj]
) -> None:
    [cmd] = [json.loads(v) for v in _values(_stages(dockerfile)[-1], "CMD")]
    assert cmd[0] == "serve"
    image = flags(cmd)
    deployment = flags(container(base)["args"])
    for name in ("--backend", "--config-path", "--job-config-path", "--port", "--metrics-port"):
        assert image[name] == deployment[name], name
    serve_parser().parse_args(cmd[1:])


def test_dockerfile_builder_builds_assets_guarded_and_a_wheel(dockerfile: DockerfileParser) -> None:
    runs = " ".join(_values(_stages(dockerfile)[0], "RUN"))
    assert "if make -n assets" in runs and "make assets;" in runs
    assert "pip wheel" in runs
    # The gRPC code is generated by the wheel build, and the build checks it landed in the wheel.
    assert "prow_graphql/gangway/_generated/gangway_pb2_grpc.py' in names" in runs
    assert "python -m venv /opt/venv" in runs


def test_dockerfile_final_stage_has_no_grpcio_tools(dockerfile: DockerfileParser) -> None:
    # grpcio-tools is a build requirement only: the final stage gets the venv the wheel was
    # installed into, and the wheel does not depend on it (tests/unit/test_gangway_codegen.py).
    final = " ".join(_values(_stages(dockerfile)[-1], "RUN"))
    assert "grpc_tools" not in final and "grpcio-tools" not in final


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    # Approximation of Docker's matcher, enough for our patterns: `**/` at the start matches any
    # depth, anything else is matched against the path and each of its parent directories.
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        plain = pattern.removeprefix("**/")
        for candidate in candidates:
            names = [candidate] + ([candidate.split("/")[-1]] if plain != pattern else [])
            if any(fnmatch.fnmatchcase(n, plain) for n in names):
                return True
    return False


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        ".pytest_cache/v",
        ".mypy_cache/x",
        ".ruff_cache/x",
        "gql/prow_graphql/__pycache__/x.pyc",
        "gql/prow_graphql/web/static/vendor/graphiql.min.js",
        "gql/prow_graphql/gangway/_generated/gangway_pb2.py",
        "web/node_modules/graphiql/package.json",
    ],
)
def test_dockerignore_excludes(path: str) -> None:
    assert _ignored(path, _dockerignore())


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "setup.py",
        "README.md",
        "Makefile",
        "mk/web.mk",
        "web/package.json",
        "web/package-lock.json",
        "gql/prow_graphql/cli.py",
        "gql/prow_graphql/py.typed",
    ],
)
def test_dockerignore_keeps_what_the_build_needs(path: str) -> None:
    assert not _ignored(path, _dockerignore())


def test_dockerignore_matcher_is_not_vacuous() -> None:
    assert _ignored("a/b/__pycache__/c", ["**/__pycache__"])
    assert not _ignored("a/b/c", ["**/__pycache__"])
    assert _ignored("build/lib/x.py", ["build"])
    assert not _ignored("gql/build.py", ["build"])
