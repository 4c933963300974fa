"""What every bench script shares: its printing and its own PostgreSQL database (created, dropped)
beside the one DATABASE_URL names. Not a benchmark itself: `make bench` runs bench/[!_]*.py."""

from urllib.parse import urlsplit, urlunsplit


def out(line: str = "") -> None:
    print(line, flush=True)


def with_database(url: str, name: str) -> str:
    """`url` with its database replaced by `name`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_recreate(*, server_url: str, name: str, drop_only: bool = False) -> None:
    """Drop database `name` on `server_url`'s server if it exists, then create it (unless drop_only)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
