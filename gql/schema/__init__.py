"""The GraphQL schema (Strawberry): thin resolvers over `gql.service` and the job index."""
