"""Django's SQLite backend, with a flush that empties tables without firing their triggers.

PostgreSQL's ``flush`` is ``TRUNCATE``, which does not fire row triggers, so the audit
trail's append-only trigger (audit/migrations) never meets it. SQLite has no TRUNCATE:
Django flushes with ``DELETE FROM``, which the same rule on SQLite refuses, and the test
runner flushes after every transactional test. This backend gives SQLite the same
semantics as PostgreSQL: during a flush the flushed tables' triggers are dropped and
recreated from their own definitions, in the flush's transaction, so nothing is left
unprotected if the flush fails half-way. Every other statement meets the triggers as usual.
"""

from __future__ import annotations

from itertools import chain

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        if allow_cascade:
            # The same closure over referencing tables that the parent's DELETEs cover (the
            # parent's own private helper, which the stubs do not declare).
            graph = self._references_graph  # type: ignore[attr-defined]
            tables = set(chain.from_iterable(graph(table) for table in tables))
        placeholders = ", ".join(["%s"] * len(tables))
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({placeholders})",
                sorted(tables),
            )
            triggers = cursor.fetchall()
        drops = [f"DROP TRIGGER {self.quote_name(name)};" for name, _ in triggers]
        creates = [f"{sql};" for _, sql in triggers]
        return drops + statements + creates


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
