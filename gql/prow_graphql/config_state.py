"""The current Prow configuration snapshot, its reload bookkeeping, and the hot-reload loop.

Readers take `state.index` (an immutable JobIndex) once per request; a reload swaps the whole
snapshot in one assignment, so a request never sees half of an old and half of a new config.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from prow_graphql.errors import ConfigError
from prow_graphql.prow.files import DEFAULT_SUPPLEMENTAL_SUFFIX
from prow_graphql.prow.loader import ConfigLoader, JobIndex

log = logging.getLogger(__name__)


class ConfigState:
    """Holds the last good JobIndex and what happened at the last reload."""

    def __init__(
        self,
        config_path: Path,
        job_config_path: Path | None,
        supplemental_dirs: Sequence[Path] = (),
        supplemental_suffix: str = DEFAULT_SUPPLEMENTAL_SUFFIX,
    ) -> None:
        self._loader = ConfigLoader(
            str(config_path),
            str(job_config_path) if job_config_path else None,
            supplemental_dirs,
            supplemental_suffix,
        )
        self.index: JobIndex = self._loader.load()
        self.last_success: datetime = self.index.loaded_at
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.reloads_ok = 0
        self.reloads_failed = 0
        self.last_reload_seconds: float | None = None
        self._listeners: list[Callable[[JobIndex], None]] = []
        self._outcome_listeners: list[Callable[[bool], None]] = []

    def on_swap(self, listener: Callable[[JobIndex], None]) -> None:
        """Call `listener(new_index)` after each successful reload."""
        self._listeners.append(listener)

    def on_outcome(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(ok)` after each reload that found changes (ok) or failed (not ok)."""
        self._outcome_listeners.append(listener)

    def reload(self) -> bool:
        """Re-read changed files; swap on success, keep the last good index on error.

        Returns True when a new snapshot was swapped in.
        """
        started = time.perf_counter()
        try:
            index = self._loader.reload()
        except ConfigError as exc:
            self.reloads_failed += 1
            self.last_error = str(exc)
            self.last_error_at = datetime.now(UTC)
            log.error("config reload failed, keeping the last good config: %s", exc)
            for outcome in self._outcome_listeners:
                outcome(False)
            return False
        finally:
            self.last_reload_seconds = time.perf_counter() - started
        if index is None:
            return False
        self.index = index
        self.last_success = index.loaded_at
        self.last_error = None
        self.last_error_at = None
        self.reloads_ok += 1
        log.info(
            "config reloaded (generation %d) in %.1f ms",
            index.generation,
            self.last_reload_seconds * 1000,
        )
        for listener in self._listeners:
            listener(index)
        for outcome in self._outcome_listeners:
            outcome(True)
        return True

    async def watch(self, interval: float) -> None:
        """Check the files every `interval` seconds, forever; cancel to stop."""
        while True:
            await asyncio.sleep(interval)
            # Parsing is CPU work on a few changed files; a thread keeps the loop responsive.
            await asyncio.to_thread(self.reload)
