"""Named counters that never hand out the same value twice, even to concurrent callers."""

from django.db import connection, transaction

from dossiers.models import Counter


def counter_next(name: str, *, count: int = 1, start: int = 0) -> int:
    """Reserve `count` values of counter `name`; return the last one (the range is last-count+1..last).

    One INSERT ... ON CONFLICT ... RETURNING statement: the row lock it takes is held until the
    caller's transaction ends, so no two transactions can reserve overlapping ranges. On a counter
    that does not exist yet, values start after `start`.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    table = connection.ops.quote_name(Counter._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, value) VALUES (%s, %s) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (name) DO UPDATE SET value = {table}.value + %s RETURNING value",
            [name, start + count, count],
        )
        return cursor.fetchone()[0]
