"""Presets: reading them, choosing the ones a job's labels select, merging them into a pod spec
as Prow's mergePreset does (clashes are load errors). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prow_graphql.prow.fields import FieldReader, Json, is_mapping

__all__ = ["Preset", "apply_presets", "merge_presets", "parse_presets", "select_presets"]


@dataclass(frozen=True, slots=True)
class Preset:
    """A preset: applies to jobs carrying all of its labels (no labels = every job)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple[Json, ...] = ()
    volumes: tuple[Json, ...] = ()
    volume_mounts: tuple[Json, ...] = ()
    tolerations: tuple[Json, ...] = ()
    source_path: str = field(default="", compare=False)

    def applies_to(self, labels: Mapping[str, str]) -> bool:
        """Whether every label of this preset is on the job with the same value."""
        return all(labels.get(key) == value for key, value in self.labels.items())


def select_presets(presets: Iterable[Preset], labels: Mapping[str, str]) -> tuple[Preset, ...]:
    """The presets that apply to a job with these labels, in order."""
    return tuple(p for p in presets if p.applies_to(labels))


def apply_presets(
    presets: Iterable[Preset], labels: Mapping[str, str], spec: Json | None
) -> tuple[Json | None, list[str]]:
    """Apply the presets matching `labels` to a pod spec; returns (new spec, clash messages)."""
    return merge_presets(select_presets(presets, labels), spec)


def merge_presets(matching: Sequence[Preset], spec: Json | None) -> tuple[Json | None, list[str]]:
    """Merge already-selected presets into a pod spec as Prow does: (new spec, clash messages).

    Env and volumeMounts go to every regular container (Prow leaves init containers alone: job
    pod specs may not have any), volumes and tolerations to the pod. A name already present
    (from the job or an earlier preset), or an identical toleration, is a clash. The input is
    not changed; only the touched lists are copied.
    """
    if spec is None or not any(
        p.env or p.volumes or p.volume_mounts or p.tolerations for p in matching
    ):
        return spec, []
    new_spec = dict(spec)
    containers = [dict(c) for c in spec.get("containers") or () if is_mapping(c)]
    clashes: list[str] = []
    for key, attr, what in (
        ("env", "env", "env var"),
        ("volumeMounts", "volume_mounts", "volume mount"),
    ):
        if not any(getattr(p, attr) for p in matching):
            continue
        for container in containers:
            existing = list(container.get(key) or ())
            names = {_name(e) for e in existing}
            for preset in matching:
                for item in getattr(preset, attr):
                    name = _name(item)
                    if name in names:
                        clashes.append(
                            f"{_preset_origin(preset)} adds {what} {name!r}, which container "
                            f"{container.get('name') or '(unnamed)'!r} already has (from the job "
                            "or an earlier preset); remove it from the job or from the preset"
                        )
                        continue
                    names.add(name)
                    existing.append(item)
            container[key] = existing
    new_spec["containers"] = containers
    volumes = list(spec.get("volumes") or ())
    volume_names = {_name(v) for v in volumes}
    tolerations = list(spec.get("tolerations") or ())
    for preset in matching:
        for volume in preset.volumes:
            name = _name(volume)
            if name in volume_names:
                clashes.append(
                    f"{_preset_origin(preset)} adds volume {name!r}, which the pod spec already "
                    "has (from the job or an earlier preset); remove it from the job or the preset"
                )
                continue
            volume_names.add(name)
            volumes.append(volume)
        for toleration in preset.tolerations:
            if toleration in tolerations:
                clashes.append(
                    f"{_preset_origin(preset)} adds toleration {dict(toleration)!r}, which the pod "
                    "spec already has; remove it from the job or from the preset"
                )
                continue
            tolerations.append(toleration)
    if volumes:
        new_spec["volumes"] = volumes
    if tolerations:
        new_spec["tolerations"] = tolerations
    return new_spec, clashes


def _preset_origin(preset: Preset) -> str:
    labels = ", ".join(f"{k}: {v}" for k, v in preset.labels.items()) or "no labels"
    where = f" from {preset.source_path}" if preset.source_path else ""
    return f"preset ({labels}){where}"


def _name(item: Any) -> Any:
    return item.get("name") if is_mapping(item) else None


def parse_presets(r: FieldReader, key: str = "presets") -> tuple[Preset, ...]:
    """The `presets` list of a config or job file (each remembers the file it came from)."""
    presets = []
    for i, item in enumerate(r.mappings(key)):
        pr = FieldReader(item, r.path, r.errors, prefix=f"{key}[{i}].")
        parts = {k: pr.mappings(k) for k in ("env", "volumes", "volumeMounts")}
        for part, items in parts.items():
            for j, entry in enumerate(items):
                if not isinstance(entry.get("name"), str) or not entry.get("name"):
                    pr.error(f"{key}[{i}].{part}[{j}] has no name; give it a `name:`")
        presets.append(
            Preset(
                labels=pr.string_map("labels"),
                env=parts["env"],
                volumes=parts["volumes"],
                volume_mounts=parts["volumeMounts"],
                tolerations=pr.mappings("tolerations"),
                source_path=r.path,
            )
        )
    return tuple(presets)
