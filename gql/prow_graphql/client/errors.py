"""The client's failures, each with the exit code the CLI ends with.

GatewayError (prow_graphql.errors)
└── ClientError        exit 2: the gateway could not be asked (usage, connection, protocol)
    ├── Unreachable    connection refused, DNS, time-out, connection lost
    ├── AuthFailed     HTTP 401/403, or the WebSocket closed with 4401/4403
    └── ServerError    exit 1: the gateway answered with GraphQL errors
"""

from __future__ import annotations

from prow_graphql.errors import GatewayError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ClientError(GatewayError):
    """The gateway could not be asked; the message is one line for the terminal."""

    exit_code = EXIT_USAGE


class Unreachable(ClientError):
    """No connection (or a lost one) to the gateway."""


class AuthFailed(ClientError):
    """The gateway refused the credentials (or their absence)."""


class ServerError(ClientError):
    """The gateway answered, with GraphQL errors instead of data."""

    exit_code = EXIT_FAILED
