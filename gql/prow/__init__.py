"""Prow's domain: configuration, job definitions, ProwJob building. Pure: imports nothing else of gql
except `gql.errors`, and does no I/O except the loader's file reading."""
