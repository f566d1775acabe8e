"""Room on each page of the cases, signals and tasks for the night's updates (PostgreSQL).

Every night renews most open cases and signals in place (last seen, figures, rank, the
day ranked). With full pages (fillfactor 100, the default) each new row version goes to
another page and every index of the table gets a new entry: the cases table has a dozen.
With a fifth of each page free, an update that changes no indexed column stays on its
page (a heap-only tuple): no index is touched, and the night writes a fraction of it.
"""

from django.db import migrations

TABLES = ("retention_case", "retention_signal", "retention_task")


def _fillfactor(value: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("retention", "0007_digest_escalation")]

    operations = [migrations.RunPython(_fillfactor(80), _fillfactor(100))]
