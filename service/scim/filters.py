"""SCIM filters (parsed and checked against the User schema by scim2-models) translated into
the people directory's condition tree, which the people domain runs as SQL. Pure: no I/O.

A filter may name the attributes Ascent stores; any other one (``title``, a value selection
such as ``emails[type eq "work"]``) is a 400 ``invalidFilter``, since its answer would be a
guess. ``resolve_manager`` turns a manager's ``value`` (an id here, or an HRIS id) into the
external id people store.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)

from ..people import directory as d
from .resources import CAREER_URN, ENTERPRISE_URN

_CORE = "urn:ietf:params:scim:schemas:core:2.0:User:"
# SCIM attribute (its full URN, as scim2-models resolves it) -> the person's field.
FIELDS = {
    _CORE + "id": "id",
    _CORE + "externalId": "external_id",
    _CORE + "userName": "user_name",
    _CORE + "displayName": "display_name",
    _CORE + "name.givenName": "given_name",
    _CORE + "name.familyName": "family_name",
    _CORE + "emails": "email",
    _CORE + "emails.value": "email",
    _CORE + "active": "active",
    _CORE + "meta.created": "created_at",
    _CORE + "meta.lastModified": "updated_at",
    f"{ENTERPRISE_URN}:employeeNumber": "employee_number",
    f"{ENTERPRISE_URN}:department": "org_unit",
    f"{ENTERPRISE_URN}:manager": "manager_external_id",
    f"{ENTERPRISE_URN}:manager.value": "manager_external_id",
    f"{CAREER_URN}:rubric": "rubric",
    f"{CAREER_URN}:level": "level",
}

_NOT_TEXT = {"id", "active", "created_at", "updated_at"}  # no substring tests on these


class _ToCondition(FilterVisitor[d.Condition]):
    def __init__(self, scim_filter: ScimFilter, resolve_manager: Callable[[str], str]):
        self.filter, self.resolve_manager = scim_filter, resolve_manager

    def _field(self, binding) -> str:
        name = FIELDS.get(binding.urn)
        if name is None:
            raise InvalidFilterException(
                detail=f"Filtering on '{binding.urn}' is not supported; supported: "
                       + ", ".join(sorted({k.rsplit(":", 1)[1] for k in FIELDS})))
        return name

    def visit_comparison(self, node: Comparison) -> d.Condition:
        binding = self.filter.resolve_comparison(node.attr_path)
        name = self._field(binding)
        if name in _NOT_TEXT and node.op.value in ("co", "sw", "ew"):
            raise InvalidFilterException(
                detail=f"'{node.attr_path}' is not text: compare it with eq, ne"
                       + (", gt, ge, lt, le." if name in ("created_at", "updated_at") else "."))
        value: Any = coerce_value(binding, node.value, node.op)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # a time without an offset is UTC
        if name == "manager_external_id" and isinstance(value, str):
            value = self.resolve_manager(value)
        return d.Compare(name, node.op.value, value)

    def visit_present(self, node: Present) -> d.Condition:
        return d.Present(self._field(self.filter.resolve(node.attr_path)))

    def visit_not(self, node: Not) -> d.Condition:
        return d.Not(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> d.Condition:
        terms = tuple(self.visit(t) for t in node.terms)
        return d.AllOf(terms) if node.op == LogicalOperator.and_ else d.AnyOf(terms)

    def visit_value_path(self, node: ValuePath) -> d.Condition:
        raise InvalidFilterException(
            detail=f"Value selections such as '{node}' are not supported; compare "
                   "'emails' or 'emails.value' instead.")


MAX_TERMS = 64  # a filter is a question, not a list: databases cap expression depth too


def to_condition(scim_filter: ScimFilter | None, resolve_manager: Callable[[str], str]
                 ) -> d.Condition | None:
    if scim_filter is None:
        return None
    if _terms(scim_filter.ast) > MAX_TERMS:
        raise InvalidFilterException(
            detail=f"The filter compares more than {MAX_TERMS} attributes; split it.")
    return _ToCondition(scim_filter, resolve_manager).visit(scim_filter.ast)


def _terms(node: FilterNode) -> int:
    match node:
        case Not():
            return _terms(node.expr)
        case LogicalExpr():
            return sum(_terms(t) for t in node.terms)
    return 1


def attribute_names(node: FilterNode) -> set[str]:
    """The attribute paths a filter names, as written (for checks on in-memory filters)."""
    match node:
        case Comparison() | Present() | ValuePath():
            return {str(node.attr_path)}
        case Not():
            return attribute_names(node.expr)
        case LogicalExpr():
            return set().union(*(attribute_names(t) for t in node.terms))
    return set()
