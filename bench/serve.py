"""`python -m bench.serve serve ...`: `prow-graphql serve` on uvloop, for the bench's
`--gateway-loop uvloop` what-if (the shipped command picks its own loop)."""

from __future__ import annotations

import sys

import uvloop

from gql.cli import main

if __name__ == "__main__":
    uvloop.install()
    sys.exit(main())
