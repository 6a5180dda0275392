"""Small questions asked of parsed GraphQL documents (shared by the result cache and sharing)."""

from __future__ import annotations

from graphql import DocumentNode, OperationDefinitionNode, OperationType


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
