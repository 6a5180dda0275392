"""The scripting client: `prow-graphql trigger` and `prow-graphql jobs` against a running gateway.

It speaks only the public protocols (GraphQL over HTTP, graphql-transport-ws) and imports
nothing from the server side, so it works against any prow-graphql deployment.
"""
