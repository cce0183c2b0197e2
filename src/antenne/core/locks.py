"""Serialising a check-then-write across processes, inside the current transaction."""

from __future__ import annotations

import zlib

from django.db import connection


def serialize(name: str) -> None:
    """Hold a lock named `name` until the current transaction ends. PostgreSQL: an advisory
    transaction lock. SQLite: transactions already take the database write lock at BEGIN
    (transaction_mode IMMEDIATE), so writers are serialised by the database itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])
