# The customer's own index on monthly balances repeats the leading column of
# uniq_balance_customer_month, which serves every lookup by customer. Dropping it
# spares a first import one sort of 24M rows; only the index goes (AlterField
# would also drop and re-validate the foreign key over the whole table).

import django.db.models.deletion
from django.db import migrations, models

INDEX = "customers_monthlybalance_customer_id_2d25cd5a"


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_customer_rm_optional'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='monthlybalance',
                    name='customer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='balances', to='customers.customer'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "customers_monthlybalance" ("customer_id")',
                ),
            ],
        ),
    ]
