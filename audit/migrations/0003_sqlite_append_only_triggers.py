"""On SQLite too, the database itself refuses to change or delete an audit event:
``QuerySet.update``/``delete`` and raw SQL meet the same refusal as on PostgreSQL
(0002). SQLite has no roles, so anyone who can write the file can drop the triggers;
what they stop is every path through the application and its shell.

Django flushes SQLite tables with DELETE; the project's SQLite backend (config/sqlite)
lifts the triggers for a flush only, as TRUNCATE passes PostgreSQL's trigger by.

SQLite drops a table's triggers when Django rebuilds the table (an AlterField or
AddField that SQLite's ALTER TABLE cannot do in place): a later migration that rebuilds
audit_auditevent must run this migration's ``forwards`` again after it
(tests/security/test_audit_trail.py checks the triggers on the migrated database)."""

from django.db import migrations

TRIGGERS = {
    "audit_auditevent_no_update": "UPDATE",
    "audit_auditevent_no_delete": "DELETE",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, operation in TRIGGERS.items():
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {operation} ON audit_auditevent "
            f"BEGIN SELECT RAISE(ABORT, 'audit events are append-only ({operation} refused)'); END",
            params=None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [migrations.RunPython(forwards, backwards)]
