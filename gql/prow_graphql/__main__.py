"""`python -m prow_graphql` runs the prow-graphql command."""

import sys

from prow_graphql.cli import main

sys.exit(main())
