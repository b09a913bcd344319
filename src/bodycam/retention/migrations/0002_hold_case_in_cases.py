# LegalHold.case now names cases.Case (moved from access, issue 15). State only: the column
# and its constraint still point at access_case, which is the same table.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0001_initial"),
        ("cases", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="legalhold",
                    name="case",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="holds", to="cases.case"),
                ),
            ],
        ),
    ]
