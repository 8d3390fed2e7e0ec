"""Many new rows of one model in a few statements: one INSERT run over every row (executemany).

Django's `bulk_create` compiles its SQL for every batch and prepares each value
through the query compiler, about 0.4 ms a row for a `File`; an import writes
~18,700 of them.  Here the statement is built once and each value goes through
its field's own `pre_save` and `get_db_prep_save`, as the compiler would, so the
stored values are the same.  Primary keys are left to the database and not read
back; callers that need the rows' ids query them.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from django.db import connections, models, router

BATCH = 2000
_PLAIN_FIELDS = (models.CharField, models.TextField, models.BooleanField, models.IntegerField,
                 models.BigIntegerField)
_PLAIN_VALUES = frozenset((str, int, bool))


def insert_rows(model: type[models.Model], rows: Sequence[models.Model]) -> int:
    """Insert `rows` (new, unsaved instances of `model`); the number inserted. Callers hold the
    transaction."""
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if f is not model._meta.auto_field]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    read = operator.attrgetter(*(f.attname for f in fields))
    plain = [type(f) in _PLAIN_FIELDS for f in fields]
    others = [i for i, simple in enumerate(plain) if not simple]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, [_values(row, read(row), fields, others, connection)
                                     for row in rows[start:start + BATCH]])
    return len(rows)


def _values(row: models.Model, raw: tuple, fields: list[models.Field], others: list[int],
            connection) -> list:
    """The row's values as the database takes them.

    A str, int or bool in a plain field is stored as it is (its preparation returns it unchanged
    on every backend); anything else goes the compiler's way (`pre_save`, `get_db_prep_save`).
    """
    values = list(raw)
    prepare = others if _PLAIN_VALUES.issuperset(map(type, values)) else range(len(values))
    for index in prepare:
        field = fields[index]
        if index in others or type(values[index]) not in _PLAIN_VALUES:
            values[index] = field.get_db_prep_save(field.pre_save(row, True), connection)
    return values
