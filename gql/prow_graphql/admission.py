"""How many long-lived connections (WebSockets, SSE streams) and subscriptions each caller may
hold at once.

A caller is its user when authenticated, else its peer address: without --auth everyone is
"anonymous", and one shared count would let one client lock everybody out.
"""

from __future__ import annotations

from collections import Counter

from prow_graphql.identity import Identity


def caller_key(identity: Identity, peer: str | None) -> str:
    """The name connections are counted under."""
    return f"user:{identity.user}" if identity.authenticated else f"addr:{peer or '?'}"


class ConnectionLimiter:
    """Counts open connections (or subscriptions) per caller; `acquire` refuses the one over
    `limit`."""

    def __init__(
        self,
        limit: int,
        what: str = "open subscription connections",
        flag: str = "--max-connections-per-identity",
    ) -> None:
        self.limit = limit
        self.what = what
        self.flag = flag
        self._open: Counter[str] = Counter()

    def acquire(self, key: str) -> bool:
        """Count one more connection for `key`, unless it already holds `limit`."""
        if self._open[key] >= self.limit:
            return False
        self._open[key] += 1
        return True

    def release(self, key: str) -> None:
        """Forget one connection of `key` (every successful acquire is released once)."""
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]

    def refusal(self, who: str) -> str:
        """The message a refused caller gets."""
        return (
            f"{who} already holds {self.limit} {self.what}; close some, or ask the operator to "
            f"raise {self.flag}"
        )

    def __len__(self) -> int:
        return sum(self._open.values())
