"""Small questions asked of parsed GraphQL documents (shared by the result cache and sharing)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType, parse

from prow_graphql.schema.bounded import ByteLRU


def chosen_operation(
    document: DocumentNode, operation_name: str | None, kind: OperationType
) -> OperationDefinitionNode | None:
    """The one operation a request runs, if it is of `kind`; None when absent or ambiguous."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [
            o for o in operations if o.name is not None and o.name.value == operation_name
        ]
    if len(operations) != 1 or operations[0].operation is not kind:
        return None
    return operations[0]


# What the gateway's own checks (sharing, offloading) parse at most: the default --max-tokens.
# A longer document is treated as unshared and not offloaded; Strawberry still runs it.
MAX_TOKENS = 2_000
_SHORT = 8192
# ~128 bytes of parsed document per character; short documents are remembered by value.
_short_documents: ByteLRU[str, tuple[DocumentNode | None]] = ByteLRU(8 * 1024 * 1024)
_long_documents: OrderedDict[int, tuple[str, DocumentNode | None]] = OrderedDict()
_lock = threading.Lock()


def parse_bounded(text: str) -> DocumentNode | None:
    """`text` parsed with at most MAX_TOKENS tokens, or None if it does not parse.

    Several checks look at one request's document before Strawberry does; lexing a 256 KiB
    document costs ~40 ms, so each text is parsed once: short ones are remembered by value
    (8 MiB of them), long ones by identity (the last 4: the same string object flows through
    one request), so the memory held stays small.
    """
    if len(text) <= _SHORT:
        cached = _short_documents.get(text)
        if cached is not None:
            return cached[0]
    else:
        with _lock:
            found = _long_documents.get(id(text))
        if found is not None and found[0] is text:
            return found[1]
    try:
        document: DocumentNode | None = parse(text, max_tokens=MAX_TOKENS)
    except GraphQLError:
        document = None
    if len(text) <= _SHORT:
        _short_documents.put(text, (document,), 128 * len(text) + 64)
    else:
        with _lock:
            _long_documents[id(text)] = (text, document)
            if len(_long_documents) > 4:
                _long_documents.popitem(last=False)
    return document
