"""Prow's gangway API (gRPC and its REST/JSON mapping) served on the gateway's one trigger path.

`api` holds the protocol-independent operations (gangway's validation, lookup and tenant rules,
then `GatewayService`); `rest` and `grpc_server` only translate their wire formats to it.
"""
