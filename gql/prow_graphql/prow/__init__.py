"""Prow's domain: configuration, job definitions, ProwJob building.

Pure: imports nothing of gql but `prow_graphql.errors`; no I/O except the loader's file reading.
"""
