"""prow-graphql: a GraphQL gateway over Prow jobs."""

__version__ = "0.1.0"
