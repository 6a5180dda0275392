"""Links to a ProwJob: Deck's status and log pages, and the prefix variant of Prow's status.url.

Pure string building; no I/O. `job_url` reproduces only the `job_url_prefix_config` variant of
Prow's `pjutil.JobURL`; the `plank.job_url_template` variant is a Go template and is not emulated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from prow_graphql.prow.config import PlankConfig

# Characters Go's net/url leaves unescaped in a URL path (besides letters, digits and "-_.~").
_GO_PATH_SAFE = "/$&+,:;=@"


def status_link(deck_url: str, prowjob_name: str) -> str:
    """Deck's page showing the ProwJob as YAML: `<deck>/prowjob?prowjob=<name>`."""
    return f"{deck_url.rstrip('/')}/prowjob?{urlencode({'prowjob': prowjob_name})}"


def log_link(deck_url: str, job: str, build_id: str) -> str:
    """Deck's live pod log of one run: `<deck>/log?job=<job>&id=<build id>`."""
    return f"{deck_url.rstrip('/')}/log?{urlencode({'job': job, 'id': build_id})}"


def deck_url_default(plank: PlankConfig) -> str | None:
    """The origin (scheme://host[:port]) of `plank.job_url_prefix_config["*"]`, if that is a URL."""
    prefix = plank.job_url_prefix_config.get("*", "")
    parts = urlsplit(prefix)
    host = parts.netloc.rpartition("@")[2]
    if not parts.scheme or not host:
        return None
    return f"{parts.scheme}://{host}"


def job_url_prefix(spec: Mapping[str, Any], plank: PlankConfig) -> str:
    """Prow's prefix lookup (Plank.GetJobURLPrefix): gcs_configuration.job_url_prefix, then
    org/repo, org, "*". Used as written: a trailing "gcs/" is kept (Prow stopped trimming it in
    2021), so such a prefix gives .../gcs/gs/<bucket>/..., as in Prow."""
    return _raw_prefix(spec, plank)


def job_url(prowjob: Mapping[str, Any], build_id: str, plank: PlankConfig) -> str:
    """The status.url plank would write for this run, when the URL-prefix variant applies.

    Returns "" when the job is not decorated, has no gcs_configuration, no prefix is configured,
    `build_id` is empty, or the path cannot be computed (unknown path_strategy, presubmit without
    a pull). Prow then falls back to executing `plank.job_url_template`, a Go template over the
    whole ProwJob; we do not emulate Go templates, so callers should prefer `status.url`.
    """
    spec = prowjob.get("spec")
    if not isinstance(spec, Mapping) or not build_id:
        return ""
    decoration = spec.get("decoration_config")
    if not isinstance(decoration, Mapping):
        return ""
    gcs = decoration.get("gcs_configuration")
    if not isinstance(gcs, Mapping):
        return ""
    prefix = job_url_prefix(spec, plank)
    if not prefix:
        return ""
    job_path = _job_path(spec, gcs, build_id)
    if job_path is None:
        return ""
    provider, bucket_path = _parse_bucket(str(gcs.get("bucket") or ""))
    parts = urlsplit(prefix)
    segments = [unquote(parts.path)]
    if not plank.job_url_prefix_disable_append_storage_provider:
        segments.append(provider)
    segments += [bucket_path, job_path]
    path = _go_path_join(*segments)
    url = f"{parts.scheme}:" if parts.scheme else ""
    if parts.netloc:
        url += f"//{parts.netloc}"
        if path and not path.startswith("/"):
            url += "/"
    url += quote(path, safe=_GO_PATH_SAFE)
    if parts.query:
        url += f"?{parts.query}"
    if parts.fragment:
        url += f"#{parts.fragment}"
    return url


def _raw_prefix(spec: Mapping[str, Any], plank: PlankConfig) -> str:
    decoration = spec.get("decoration_config")
    if isinstance(decoration, Mapping):
        gcs = decoration.get("gcs_configuration")
        if isinstance(gcs, Mapping) and gcs.get("job_url_prefix"):
            return str(gcs["job_url_prefix"])
    org, repo = _org_repo(spec)
    prefixes = plank.job_url_prefix_config
    if not org:
        return prefixes.get("*", "")
    return prefixes.get(f"{org}/{repo}") or prefixes.get(org) or prefixes.get("*", "")


def _org_repo(spec: Mapping[str, Any]) -> tuple[str, str]:
    """org and repo from `refs`, else from `extra_refs[0]` (as Prow does for periodics)."""
    refs = spec.get("refs")
    if not isinstance(refs, Mapping):
        extra = spec.get("extra_refs") or ()
        refs = extra[0] if extra and isinstance(extra[0], Mapping) else {}
    return str(refs.get("org") or ""), str(refs.get("repo") or "")


def _job_path(spec: Mapping[str, Any], gcs: Mapping[str, Any], build_id: str) -> str | None:
    job = str(spec.get("job") or "")
    kind = spec.get("type")
    if kind in ("periodic", "postsubmit"):
        path = _go_path_join("logs", job, build_id)
    elif kind == "batch":
        path = _go_path_join("pr-logs", "pull", "batch", job, build_id)
    elif kind == "presubmit":
        refs = spec.get("refs")
        if not isinstance(refs, Mapping):
            return None
        pulls = refs.get("pulls")
        if not pulls or not isinstance(pulls[0], Mapping):
            return None
        segment = _repo_segment(
            str(gcs.get("path_strategy") or ""),
            str(gcs.get("default_org") or ""),
            str(gcs.get("default_repo") or ""),
            str(refs.get("org") or ""),
            str(refs.get("repo") or ""),
        )
        if segment is None:
            return None
        number = str(pulls[0].get("number", ""))
        path = _go_path_join("pr-logs", "pull", segment, number, job, build_id)
    else:
        return None
    prefix = str(gcs.get("path_prefix") or "")
    return _go_path_join(prefix, path) if prefix else path


def _repo_segment(
    strategy: str, default_org: str, default_repo: str, org: str, repo: str
) -> str | None:
    """The `<org>_<repo>` path segment per gcs path_strategy (None for an unknown strategy)."""
    if strategy == "legacy" and org == default_org:
        return "" if repo == default_repo else repo
    if strategy == "single" and org == default_org and repo == default_repo:
        return ""
    if strategy not in ("explicit", "legacy", "single"):
        return None
    # Gerrit orgs are URLs ("https://host"); Gerrit repos may contain slashes.
    org = org.removeprefix("https://").removeprefix("http://").rstrip("/")
    return f"{org}_{repo.replace('/', '_')}"


def _parse_bucket(bucket: str) -> tuple[str, str]:
    """(storage provider, bucket[/path]): a bare bucket name means GCS (`gs`)."""
    if "://" not in bucket:
        bucket = f"gs://{bucket}"
    parts = urlsplit(bucket)
    return parts.scheme, parts.netloc + parts.path


def _go_path_join(*elements: str) -> str:
    """Go's path.Join: join the non-empty elements with "/" and clean the result."""
    joined = "/".join(e for e in elements if e)
    return _go_path_clean(joined) if joined else ""


def _go_path_clean(path: str) -> str:
    """Go's path.Clean: collapse slashes, drop "." and resolve ".." lexically."""
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    if rooted:
        return "/" + cleaned
    return cleaned or "."
