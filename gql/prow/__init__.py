"""Prow's domain: configuration, job definitions, ProwJob building.

Pure: imports nothing of gql but `gql.errors`; no I/O except the loader's file reading.
"""
