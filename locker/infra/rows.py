"""Whole model rows read with a statement written once, for the reads every API call makes
(its bearer token with the token's user, the case it names). Building and compiling the
ORM's query for them cost more than the round trip itself, each time (docs/scale.md, "HTTP
POST of an entry"); here the statement is text made once per process, and the values go
through the converters the ORM would apply, so the instance is the one the ORM would have
built. The columns come from each model's own fields, so a field added later is read too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


def select_list(model: type[Model], alias: str) -> str:
    """The model's columns, as `alias`."column", in the order row_instance reads them."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def column_count(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


@cache
def _converters(
    model: type[Model], vendor: str, using: str
) -> tuple[tuple[str, ...], tuple[tuple[Any, tuple[Converter, ...]], ...]]:
    """Each field's attribute name, and the converters the ORM applies to its column on this
    kind of database (none for most fields on PostgreSQL; dates, booleans, UUIDs on SQLite)."""
    connection = connections[using]
    names: list[str] = []
    conversions: list[tuple[Any, tuple[Converter, ...]]] = []
    for field in model._meta.concrete_fields:
        names.append(field.attname)
        column = field.get_col(model._meta.db_table)
        found = tuple(connection.ops.get_db_converters(column)) + tuple(
            field.get_db_converters(connection)
        )
        conversions.append((column, found))
    return tuple(names), tuple(conversions)


def row_instance(model: type[M], row: Sequence[Any], start: int = 0, using: str = "default") -> M:
    """The instance of `model` whose columns (select_list's order) begin at row[start]."""
    connection = connections[using]
    names, conversions = _converters(model, connection.vendor, using)
    values = list(row[start : start + len(names)])
    for index, (column, found) in enumerate(conversions):
        for convert in found:
            values[index] = convert(values[index], column, connection)
    return model.from_db(using, names, values)


def prepared(model: type[Model], name: str, value: Any, using: str = "default") -> Any:
    """`value` as the ORM would send it for the field `name` (an aware time made naive UTC
    text on SQLite, a UUID its hex there; unchanged on PostgreSQL)."""
    return model._meta.get_field(name).get_db_prep_value(  # type: ignore[union-attr]
        value, connections[using], prepared=False
    )


def table(model: type[Model], using: str = "default") -> str:
    return str(connections[using].ops.quote_name(model._meta.db_table))
