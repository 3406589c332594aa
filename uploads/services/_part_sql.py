"""The two statements every tus PATCH runs on its upload's row: lock it, write the new offset and segments.

Rendered once per database vendor from Upload's metadata, as the ORM would write them: compiling them through
the ORM on each request cost more CPU than running them (a PATCH is mostly fixed cost once its bytes are
streamed; see bench/upload.py). The login attempt does the same (pins.services.verification).
"""

from dataclasses import dataclass

from django.db import connection

from ..models import Upload

# What a part changes on the row (receiving._store_part); updated_at as save() would set it (auto_now).
PART_FIELDS = ("offset", "segments", "mime_type", "updated_at")


@dataclass(frozen=True)
class _PartSql:
    lock: str
    update: str
    names: tuple[str, ...]  # Upload's attnames in the lock's column order, for from_db
    converters: tuple[tuple[int, object, tuple], ...]  # (position, column, converters) where the ORM has any
    written: tuple  # the fields of PART_FIELDS, in the update's order


_SQL: dict[str, _PartSql] = {}


def _part_sql() -> _PartSql:
    sql = _SQL.get(connection.vendor)
    if sql is None:
        sql = _SQL[connection.vendor] = _part_sql_render()
    return sql


def _part_sql_render() -> _PartSql:
    quote = connection.ops.quote_name
    meta = Upload._meta
    table = quote(meta.db_table)
    fields = meta.concrete_fields
    converters = []
    for position, field in enumerate(fields):
        col = field.get_col(meta.db_table)
        found = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if found:
            converters.append((position, col, found))
    features = connection.features
    lock = ""
    if features.has_select_for_update:  # PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers
        lock = " FOR UPDATE NOWAIT" if features.has_select_for_update_nowait else " FOR UPDATE"
    columns = ", ".join(f"{table}.{quote(field.column)}" for field in fields)
    pk = quote(meta.pk.column)
    written = tuple(meta.get_field(name) for name in PART_FIELDS)
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in written)
    # Only names from the model's metadata and placeholders go into the text; every value is a parameter.
    return _PartSql(
        lock=f"SELECT {columns} FROM {table} WHERE {table}.{pk} = %s{lock}",  # noqa: S608 - names from _meta
        update=f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608 - names from _meta
        names=tuple(field.attname for field in fields),
        converters=tuple(converters),
        written=written,
    )


def part_lock(*, pk: int) -> Upload | None:
    """The upload's row, locked for this transaction (NOWAIT: another holder raises OperationalError with
    lock_not_available); None when it is gone. The same instance Upload.objects.get would build."""
    sql = _part_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql.lock, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for position, col, found in sql.converters:
        for converter in found:
            values[position] = converter(values[position], col, connection)
    return Upload.from_db(connection.alias, sql.names, values)


def part_save(*, upload: Upload) -> None:
    """Write the locked upload's offset, segments and type (and updated_at, now): save(update_fields=PART_FIELDS)
    without compiling it."""
    sql = _part_sql()
    params = [field.get_db_prep_save(field.pre_save(upload, False), connection) for field in sql.written]
    with connection.cursor() as cursor:
        cursor.execute(sql.update, [*params, upload.pk])
