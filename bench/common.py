"""Shared set-up of the benchmark scripts: their own PostgreSQL database, created, pointed at and migrated.

Every ``bench/bench_*.py`` that builds a PostgreSQL database does it through :func:`bench_database`
(or, when the import or migration has to run in a child process, through its parts
:func:`create_database`, :func:`setup_django` and :func:`migrate`). Nothing here is product code; the
scripts put ``bench/`` on ``sys.path`` and ``import common``.
"""
from __future__ import annotations

import os
import re
import sys
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: The maintenance database of the local server, used to create and drop the bench databases.
DEFAULT_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def database_url(admin_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``admin_url`` (same user, host and port; query kept).

    ``admin_url``: ``postgresql://user@host:port/<any db>``. Raises ``ValueError`` naming the argument when
    ``admin_url`` is not a ``postgresql://`` / ``postgres://`` URL or ``name`` is not a plain lower-case
    identifier (letters, digits, ``_``; at most 63 characters), since the name is put into SQL unquoted-safe.
    """
    u = urllib.parse.urlparse(admin_url)
    if u.scheme not in ("postgresql", "postgres") or not u.hostname:
        raise ValueError(f"admin_url: expected postgresql://user@host:port/db, got {admin_url!r}")
    if not _NAME.match(name or ""):
        raise ValueError(f"database name: {name!r} is not a lower-case identifier of at most 63 characters")
    return urllib.parse.urlunparse(u._replace(path="/" + name))


def create_database(admin_url: str, name: str, *, fresh: bool) -> str:
    """Make sure PostgreSQL database ``name`` exists on the server of ``admin_url``; returns its URL.

    ``fresh=True`` drops it first (``WITH (FORCE)``: open sessions are ended) and creates it empty;
    ``fresh=False`` keeps an existing database as it is (``--reuse``) and creates it only when missing.
    Errors: ``ValueError`` for a bad URL or name (see :func:`database_url`); ``psycopg.OperationalError``
    when the server cannot be reached or the user may not create databases.
    """
    import psycopg

    url = database_url(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` if it exists (ending its sessions). Errors as :func:`create_database`."""
    import psycopg

    database_url(admin_url, name)  # validates both
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(db_url: str, *, data_dir: str, log_level: str | None = "WARNING") -> None:
    """Point liftsafe's settings at ``db_url`` and run ``django.setup()`` in this process.

    Sets ``LIFTSAFE_DATABASE_URL`` (always), ``LIFTSAFE_DATA_DIR`` to ``data_dir`` and ``LIFTSAFE_LOG_LEVEL``
    to ``log_level`` unless the caller's environment already sets them (``None``: leave the log level
    alone), and ``DJANGO_SETTINGS_MODULE=liftsafe.settings``. Must run before any model import; calling it
    twice in one process keeps the first database (Django is set up once).
    """
    os.environ["LIFTSAFE_DATABASE_URL"] = db_url
    os.environ.setdefault("LIFTSAFE_DATA_DIR", data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "liftsafe.settings"
    if log_level:
        os.environ.setdefault("LIFTSAFE_LOG_LEVEL", log_level)
    import django

    django.setup()


def migrate() -> float:
    """Apply every migration to the configured database (quietly); returns the seconds it took."""
    from django.core.management import call_command

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    return time.perf_counter() - t


def bench_database(name: str, *, admin_url: str = DEFAULT_ADMIN_URL, fresh: bool = True, data_dir: str | None = None,
                   log_level: str | None = "WARNING") -> str:
    """Create (or reuse) the bench's own PostgreSQL database, set Django up on it and migrate it.

    ``name``: database name (lower-case identifier, e.g. ``bench_hazards``); ``admin_url``: a URL of the
    server's maintenance database (default ``$BENCH_PG_ADMIN`` or ``postgresql://postgres@127.0.0.1:5432/postgres``);
    ``fresh``: drop and re-create (``False`` keeps a loaded database for ``--reuse``); ``data_dir``: the
    ``LIFTSAFE_DATA_DIR`` of the run (default ``/tmp/<name>-var``); ``log_level``: see :func:`setup_django`.
    Returns the database's URL (``postgresql://…/<name>``), e.g. for bare-SQL baselines through psycopg.
    Errors: ``ValueError`` for a bad name or URL; ``psycopg.OperationalError`` when the server is
    unreachable or creating the database is not allowed; migration errors propagate unchanged.
    """
    url = create_database(admin_url, name, fresh=fresh)
    setup_django(url, data_dir=data_dir or f"/tmp/{name}-var", log_level=log_level)
    migrate()
    return url
