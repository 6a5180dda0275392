"""Refreshing kubeconfig credentials (exec plugins, auth providers) before they expire.

Knows nothing of kubernetes_asyncio's types: it calls the loader's public `load_and_set`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)


def credential_refresher(
    loader: Any, interval: float, errors: tuple[type[BaseException], ...]
) -> Callable[[Any], Awaitable[None]]:
    """A `refresh_api_key_hook` that re-reads the kubeconfig's credentials before a request at
    most every `interval` seconds: an exec plugin (EKS, GKE) is run again once its token nears
    `expirationTimestamp` (kubernetes_asyncio's rule), so tokens that expire after 15-60 min
    are replaced instead of failing every call from then on. A failed refresh keeps the old
    credentials; the request then fails on its own (401) and the informer backs off."""
    last = -math.inf

    async def refresh(configuration: Any) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < interval:
            return
        last = now
        try:
            await loader.load_and_set(configuration)
        except errors as exc:
            logger.warning("refreshing Kubernetes credentials failed: %s", exc)

    return refresh
