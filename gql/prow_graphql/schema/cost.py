"""What a GraphQL operation will cost, measured in one pass before validation or execution.

Strawberry's depth and alias limiters re-walk a fragment at every spread, so a kilobyte of
fragments that each spread the previous one twice costs 2^30 steps. Here every fragment is
measured once and its summary reused (cost linear in the document), and the summary also counts
fragment-spread expansions and estimates how many fields execution would resolve, multiplying
by the size of each list (its `first` argument, else an assumed size). Nothing here executes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.type.definition import GraphQLField, GraphQLNamedType

from prow_graphql.settings import Settings

# Arguments that bound the length of the list a field returns.
PAGE_ARGUMENTS = ("first", "last", "limit")


@dataclass(frozen=True)
class Limits:
    """Ceilings on one operation, each named after the `serve` flag that changes it."""

    max_depth: int = 12
    max_aliases: int = 30
    max_fragment_spreads: int = 200
    max_nodes: int = 200_000
    assumed_list_size: int = 20
    max_page_size: int = 500

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits `serve`'s flags ask for."""
        p = settings.protections
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_fragment_spreads=p.max_fragment_spreads,
            max_nodes=p.max_query_nodes,
            assumed_list_size=p.assumed_list_size,
        )


@dataclass(frozen=True)
class Cost:
    """The measured cost of a selection set, per instance of its parent."""

    depth: int = 0
    aliases: int = 0
    spreads: int = 0
    nodes: int = 0

    def plus(self, other: Cost, times: int = 1) -> Cost:
        """This cost and `times` copies of `other` side by side (depths do not add)."""
        return Cost(
            max(self.depth, other.depth),
            self.aliases + times * other.aliases,
            self.spreads + times * other.spreads,
            self.nodes + times * other.nodes,
        )


@dataclass(frozen=True)
class Excess:
    """One limit an operation goes over: the limit's name, its flag, the value and the ceiling."""

    limit: str
    flag: str
    value: int
    maximum: int
    what: str

    @property
    def message(self) -> str:
        return (
            f"the operation exceeds {self.what} of {self.maximum} (it has {self.value}); "
            f"simplify it, or ask the operator to raise {self.flag}"
        )


class Meter:
    """Measures the operations of one document against a schema; each fragment once."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.variables = variables if isinstance(variables, Mapping) else {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._memo: dict[tuple[str, int | None], Cost] = {}
        self._active: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Cost:
        """The cost of running `operation`."""
        root = self.schema.get_root_type(operation.operation)
        return self._selections(operation.selection_set, root, None)

    def _selections(self, selection_set: SelectionSetNode, parent: Any, page: int | None) -> Cost:
        """`page`: the `first` of the enclosing connection, which sizes its edges and nodes."""
        total = Cost()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total = total.plus(self._field(selection, parent, page))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total = total.plus(self._selections(selection.selection_set, inner, page))
            elif isinstance(selection, FragmentSpreadNode):
                spread = self._fragment(selection.name.value, page)
                total = total.plus(
                    Cost(spread.depth, spread.aliases, 1 + spread.spreads, spread.nodes)
                )
        return total

    def _fragment(self, name: str, page: int | None) -> Cost:
        cached = self._memo.get((name, page))
        if cached is not None:
            return cached
        fragment = self.fragments.get(name)
        # Unknown and cyclic fragments are validation errors reported by graphql-core's rules.
        if fragment is None or name in self._active:
            return Cost()
        self._active.add(name)
        try:
            condition = self.schema.get_type(fragment.type_condition.name.value)
            cost = self._selections(fragment.selection_set, condition, page)
        finally:
            self._active.discard(name)
        self._memo[(name, page)] = cost
        return cost

    def _field(self, node: FieldNode, parent: Any, page: int | None) -> Cost:
        alias = 1 if node.alias is not None else 0
        name = node.name.value
        if name.startswith("__"):
            # Introspection is bounded by the schema's own size; GraphiQL's query is deep.
            return Cost(aliases=alias, nodes=1)
        definition = _field_definition(parent, name)
        own_page = self._page_argument(node, definition)
        size, named = self._list_size(definition, own_page if own_page is not None else page)
        if node.selection_set is None:
            return Cost(aliases=alias, nodes=size)
        # A non-list field with `first` is a connection: its page sizes the lists inside it.
        inner = self._selections(node.selection_set, named, own_page if size == 1 else None)
        # Aliases and spreads count the document once expanded; only the estimate of fields
        # resolved grows with the size of each list.
        return Cost(1 + inner.depth, alias + inner.aliases, inner.spreads,
                    size * (1 + inner.nodes))  # fmt: skip

    def _list_size(self, definition: GraphQLField | None, page: int | None) -> tuple[int, Any]:
        """(how many items the field returns per parent, its named type)."""
        if definition is None:
            return 1, None
        size, kind = 1, definition.type
        while isinstance(kind, GraphQLNonNull | GraphQLList):
            if isinstance(kind, GraphQLList):
                size *= page if page is not None else self.limits.assumed_list_size
            kind = kind.of_type
        return size, kind

    def _page_argument(self, node: FieldNode, definition: GraphQLField | None) -> int | None:
        """The page size a field asks for: a literal, a variable's value, else its default;
        the largest page allowed when that is unknown."""
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(0, int(value.value))
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(0, given)
            return self.limits.max_page_size
        for name in PAGE_ARGUMENTS:
            declared = definition.args.get(name) if definition is not None else None
            if declared is not None:
                default = declared.default_value
                return default if isinstance(default, int) else self.limits.max_page_size
        return None


def _field_definition(parent: Any, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)
    if not isinstance(parent, GraphQLNamedType) or not isinstance(fields, dict):
        return None
    definition = fields.get(name)
    return definition if isinstance(definition, GraphQLField) else None


def excesses(cost: Cost, limits: Limits) -> list[Excess]:
    """Every limit `cost` goes over, most fundamental first."""
    checks = [
        ("maxDepth", "--max-query-depth", cost.depth, limits.max_depth,
         "maximum operation depth"),
        ("maxFragmentSpreads", "--max-fragment-spreads", cost.spreads,
         limits.max_fragment_spreads, "the maximum number of fragment spreads, once expanded,"),
        ("maxAliases", "--max-aliases", cost.aliases, limits.max_aliases,
         "the maximum number of aliases, once fragments are expanded,"),
        ("maxNodes", "--max-query-nodes", cost.nodes, limits.max_nodes,
         "the maximum estimated number of fields resolved (lists count as their size)"),
    ]  # fmt: skip
    return [Excess(*check) for check in checks if check[2] > check[3]]
