"""`python -m gql` runs the prow-graphql command."""

import sys

from gql.cli import main

sys.exit(main())
