"""The GraphQL schema (Strawberry): thin resolvers over `prow_graphql.service` and the job index."""
