"""Per-job checks Prow's `validateJobBase` makes (pkg/config/config.go), on defaulted values.

Each function returns messages (empty when valid); the loader records them as config errors, so a
config Prow refuses is refused here too and the last good snapshot stays in force. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from prow_graphql.prow.cron import cron_error, go_duration_error

__all__ = [
    "check_agent",
    "check_annotations",
    "check_clone_uri",
    "check_decoration",
    "check_labels",
    "check_periodic_schedule",
    "check_pod_spec",
    "check_reporting",
]

Json = Mapping[str, Any]

KUBERNETES, JENKINS, TEKTON = "kubernetes", "jenkins", "tekton-pipeline"
# decorate.Labels(): labels Prow puts on every pod and ProwJob it creates.
RESERVED_LABELS = frozenset({"prow.k8s.io/type", "created-by-prow", "prow.k8s.io/id"})
_POD_UTILS_CONTAINERS = frozenset({"clonerefs", "initupload", "place-entrypoint", "sidecar"})
_DECORATION_VOLUMES = ("logs", "code", "tools", "gcs-credentials", "s3-credentials")
_TEST_CONTAINER_MOUNTS = frozenset({"logs", "code", "tools"})
_TEST_CONTAINER_MOUNT_PATHS = frozenset({"/logs", "/home/prow/go", "/tools"})
# downwardapi.EnvForType: variables Prow sets in the test container, by job type.
_BASE_ENV = ("CI", "JOB_NAME", "JOB_SPEC", "JOB_TYPE", "PROW_JOB_ID", "BUILD_ID", "BUILD_NUMBER")
_REFS_ENV = (
    "REPO_OWNER",
    "REPO_NAME",
    "SRC_BASE",
    "SRC_HOST",
    "PULL_BASE_REF",
    "PULL_BASE_SHA",
    "PULL_REFS",
)
_PULL_ENV = ("PULL_NUMBER", "PULL_PULL_SHA", "PULL_HEAD_REF", "PULL_TITLE")
RESERVED_ENV: dict[str, frozenset[str]] = {
    "periodic": frozenset(_BASE_ENV),
    "postsubmit": frozenset(_BASE_ENV + _REFS_ENV),
    "batch": frozenset(_BASE_ENV + _REFS_ENV),
    "presubmit": frozenset(_BASE_ENV + _REFS_ENV + _PULL_ENV),
}
_PATH_STRATEGIES = ("legacy", "explicit", "single")

_NAME_RE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_MEDIA_TYPE_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;.*)?")


def qualified_name_error(key: str) -> str | None:
    """Kubernetes' IsQualifiedName: `[prefix/]name`, name ≤ 63 alphanumeric-edged characters,
    prefix a DNS subdomain ≤ 253 characters."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        return "prefix part must be a lowercase DNS subdomain of at most 253 characters"
    if key.count("/") > 1:
        return "a qualified name has at most one '/'"
    if not name or len(name) > 63 or not _NAME_RE.fullmatch(name):
        return (
            "name part must be 1 to 63 characters, alphanumeric at both ends, with '-', '_' or "
            "'.' inside"
        )
    return None


def check_labels(labels: Mapping[str, str]) -> list[str]:
    """validateLabels: no reserved label, qualified keys, valid values."""
    found = []
    for key, value in labels.items():
        if key in RESERVED_LABELS:
            found.append(f"label {key} is reserved for decoration; remove it from the job")
        elif (problem := qualified_name_error(key)) is not None:
            found.append(f"invalid label {key}: {problem}")
        elif value and (len(value) > 63 or not _NAME_RE.fullmatch(value)):
            found.append(
                f"label {key} has invalid value {value!r}: at most 63 characters, alphanumeric "
                "at both ends, '-', '_' or '.' inside"
            )
    return found


def check_annotations(annotations: Mapping[str, str]) -> list[str]:
    """validateAnnotation: every key a qualified name."""
    return [
        f"invalid annotation key {key!r}: {problem}"
        for key in annotations
        if (problem := qualified_name_error(key)) is not None
    ]


def check_agent(
    *,
    agent: str,
    has_spec: bool,
    has_pipeline_run_spec: bool,
    decorated: bool,
    error_on_eviction: bool,
    namespace: str,
    pod_namespace: str,
) -> list[str]:
    """validateAgent (the first failing rule, as in Prow; unknown agents are not checked)."""
    if agent not in (KUBERNETES, JENKINS, TEKTON):
        return []
    if has_spec and agent != KUBERNETES:
        return [f"job specs require agent: kubernetes (found {agent!r}); remove spec or agent"]
    if agent == KUBERNETES and not has_spec:
        return ["agent kubernetes needs a `spec:` (a pod spec with at least one container)"]
    if has_pipeline_run_spec and agent != TEKTON:
        return [f"job pipeline_run_spec require agent: {TEKTON} (found {agent!r})"]
    if agent == TEKTON and not has_pipeline_run_spec:
        return [f"agent: {TEKTON} jobs require a pipeline_run_spec"]
    if decorated and agent != KUBERNETES:
        return [f"decoration requires agent: kubernetes (found {agent!r})"]
    if error_on_eviction and agent != KUBERNETES:
        return [f"error_on_eviction only applies to agent: kubernetes (found {agent!r})"]
    if namespace != pod_namespace and agent != TEKTON:
        return [
            f"namespace customization requires agent: {TEKTON} (found {agent!r}); remove "
            f"namespace: {namespace!r} or set it to pod_namespace {pod_namespace!r}"
        ]
    return []


def _names(items: Any) -> list[Any]:
    return [i.get("name") for i in items or () if isinstance(i, Mapping)]


def _decoration_volume_names(decoration: Json | None) -> set[str]:
    names = set(_DECORATION_VOLUMES)
    if decoration:
        token = decoration.get("oauth_token_secret")
        if isinstance(token, Mapping) and token.get("name"):
            names.add(str(token["name"]))
        names.update(str(s) for s in decoration.get("ssh_key_secrets") or ())
    return names


def check_pod_spec(job_type: str, spec: Json | None, decoration: Json | None) -> list[str]:
    """validatePodSpec: init containers, container count and names, env, volumes and mounts."""
    if spec is None:
        return []
    found = []
    unsupported = [
        c.get("name")
        for c in spec.get("initContainers") or ()
        if isinstance(c, Mapping) and c.get("restartPolicy") != "Always"
    ]
    if unsupported:
        found.append(
            f"pod spec may not use init containers (sidecar containers, restartPolicy: Always, "
            f"are supported): {unsupported}"
        )
    containers = [c for c in spec.get("containers") or () if isinstance(c, Mapping)]
    if not containers:
        return [*found, "pod spec must specify at least 1 container, found: 0"]
    if len(containers) > 1 and decoration is None:
        return [
            *found,
            f"pod utility decoration must be enabled to use multiple containers: {len(containers)}",
        ]
    if len(containers) > 1:
        seen: set[Any] = set()
        for name in _names(containers):
            if not name:
                found.append("all containers must have names when defining multiple containers")
            if name in seen:
                found.append(f"container named {name!r} is defined more than once")
            seen.add(name)
            if name in _POD_UTILS_CONTAINERS:
                found.append(f"container name {name} is reserved for decoration; rename it")
    reserved_env = RESERVED_ENV.get(job_type, frozenset())
    for container in containers:
        env_names: set[Any] = set()
        for name in _names(container.get("env")):
            if name in env_names:
                found.append(f"env var named {name!r} is defined more than once")
            env_names.add(name)
            if name in reserved_env:
                found.append(f"env {name} is reserved (Prow sets it); rename it")
    volume_names: set[Any] = set()
    decoration_volumes = _decoration_volume_names(decoration)
    for name in _names(spec.get("volumes")):
        if name in volume_names:
            found.append(f"volume named {name!r} is defined more than once")
        volume_names.add(name)
        if name in decoration_volumes:
            found.append(f"volume {name} is reserved for decoration; rename it")
    for container in containers:
        for mount in container.get("volumeMounts") or ():
            if not isinstance(mount, Mapping):
                continue
            name, path = mount.get("name"), mount.get("mountPath")
            if name not in volume_names and name not in decoration_volumes:
                found.append(f"volumeMount named {name!r} is undefined; add the volume")
            if name in _TEST_CONTAINER_MOUNTS:
                found.append(f"volumeMount name {name} is reserved for decoration")
            if path in _TEST_CONTAINER_MOUNT_PATHS:
                found.append(f"mount {name} at {path} conflicts with decoration mount")
    return found


def _gcs_error(gcs: Json) -> str | None:
    for media_type in (gcs.get("mediaTypes") or {}).values():
        if not isinstance(media_type, str) or not _MEDIA_TYPE_RE.fullmatch(media_type.strip()):
            return f"invalid extension media type {media_type!r}"
    strategy = gcs.get("path_strategy") or ""
    if strategy not in _PATH_STRATEGIES:
        return f"gcs_path_strategy must be one of {', '.join(map(repr, _PATH_STRATEGIES))}"
    if strategy != "explicit" and not (gcs.get("default_org") and gcs.get("default_repo")):
        return f"default org and repo must be provided for GCS strategy {strategy!r}"
    return None


def check_decoration(decoration: Json | None, containers: Sequence[Json]) -> list[str]:
    """DecorationConfig.Validate plus validateDecoration's command check, and durations."""
    if decoration is None:
        return []
    images = decoration.get("utility_images")
    if not isinstance(images, Mapping):
        return ["invalid decoration config: utility image config is not specified"]
    missing = [k for k in ("clonerefs", "initupload", "entrypoint", "sidecar") if not images.get(k)]
    if missing:
        return [
            f"invalid decoration config: the following utility images are not specified: {missing}"
        ]
    gcs = decoration.get("gcs_configuration")
    if not isinstance(gcs, Mapping):
        return ["invalid decoration config: GCS upload configuration is not specified"]
    if (problem := _gcs_error(gcs)) is not None:
        return [f"invalid decoration config: GCS configuration is invalid: {problem}"]
    if decoration.get("oauth_token_secret") is not None and decoration.get("ssh_key_secrets"):
        return ["invalid decoration config: both OAuth token and SSH key secrets are specified"]
    found = []
    for key in ("timeout", "grace_period"):
        value = decoration.get(key)
        if value is not None and (error := go_duration_error(str(value))) is not None:
            found.append(f"decoration_config.{key}: {error}")
    for container in containers:
        args = [*(container.get("command") or ()), *(container.get("args") or ())]
        if not args or args[0] == "":
            found.append("decorated job containers must specify command and/or args")
            break
    return found


def check_clone_uri(clone_uri: str, decoration: Json | None) -> list[str]:
    """UtilityConfig.Validate's clone_uri rule (the user part before '@' is ignored)."""
    if not clone_uri:
        return []
    uri = clone_uri[clone_uri.find("@") + 1 :]
    try:
        scheme = urlsplit(uri).scheme
    except ValueError as exc:
        return [f"couldn't parse uri from clone_uri: {exc}"]
    oauth = decoration is not None and decoration.get("oauth_token_secret") is not None
    if oauth and scheme not in ("http", "https"):
        return [f"scheme must be http or https when OAuth secret is specified: {uri}"]
    return []


def check_periodic_schedule(
    name: str, cron: str, interval: str, minimum_interval: str, retry: Json | None
) -> list[str]:
    """validatePeriodics: exactly one schedule, robfig cron syntax, Go durations, retry."""
    chosen = [v for v in (cron, interval, minimum_interval) if v]
    if len(chosen) > 1:
        return [f"cron, interval, and minimum_interval are mutually exclusive in periodic {name}"]
    if not chosen:
        return [
            f"at least one of cron, interval, or minimum_interval must be set in periodic {name}"
        ]
    found = []
    if cron and (error := cron_error(cron)) is not None:
        found.append(f"invalid cron string {cron} in periodic {name}: {error}")
    if interval and (error := go_duration_error(interval)) is not None:
        found.append(f"cannot parse duration for {name}: {error}")
    if retry is not None:
        retry_interval = retry.get("interval")
        text = "" if retry_interval is None else str(retry_interval)
        if (error := go_duration_error(text)) is not None:
            found.append(f"cannot parse Retry duration for {name}: {error}")
    if minimum_interval and (error := go_duration_error(minimum_interval)) is not None:
        found.append(f"cannot parse duration for {name}: {error}")
    return found


GERRIT_REPORT_LABEL = "prow.k8s.io/gerrit-report-label"


def check_reporting(labels: Mapping[str, str], skip_report: bool, context: str) -> list[str]:
    """validateReporting: a reporting job needs a context; a Gerrit report label contradicts
    skip_report."""
    if not skip_report:
        return [] if context else ["job is set to report but has no context configured"]
    if labels.get(GERRIT_REPORT_LABEL):
        return [
            f"gerrit report label {GERRIT_REPORT_LABEL} set to non-empty string but job is "
            "configured to skip reporting; remove one of them"
        ]
    return []
