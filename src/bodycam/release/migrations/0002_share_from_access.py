# Share moved here from the access app, and the case references now name cases.Case
# (issue 15). State only: access_share and every foreign key column and constraint in the
# database stay exactly as they are.

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("release", "0001_initial"),
        ("cases", "0001_initial"),
        ("evidence", "0002_retention_fields"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Share",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("allow_download", models.BooleanField(default=False)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("created_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                         related_name="shares_made", to=settings.AUTH_USER_MODEL)),
                        ("recipient", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                        related_name="shares_received", to=settings.AUTH_USER_MODEL)),
                        ("recording", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                        related_name="shares", to="evidence.recording")),
                    ],
                    options={"db_table": "access_share"},
                ),
                migrations.AlterField(
                    model_name="shareterms",
                    name="share",
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True,
                                               related_name="terms", serialize=False, to="release.share"),
                ),
                migrations.AlterField(
                    model_name="caseshare",
                    name="case",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                            related_name="prosecutor_shares", to="cases.case"),
                ),
                migrations.AlterField(
                    model_name="sharelink",
                    name="case",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="share_links", to="cases.case"),
                ),
            ],
        ),
    ]
