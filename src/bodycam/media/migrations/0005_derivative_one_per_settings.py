"""One derivative per (clip, kind, settings), step 2: the constraint (its own migration, so
PostgreSQL alters the table in a transaction without 0004's row updates pending)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('media', '0004_derivative_params_key'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='derivative',
            constraint=models.UniqueConstraint(fields=('clip', 'kind', 'params_key'), name='derivative_one_per_settings'),
        ),
    ]
