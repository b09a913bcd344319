# Note and Tag moved here from the access app (issue 15). State only: the tables
# (access_note, access_tag) and their rows stay where they are.

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0003_case_status_incident"),
        ("evidence", "0002_retention_fields"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Note",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("text", models.TextField(max_length=5000)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("author", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                     to=settings.AUTH_USER_MODEL)),
                        ("recording", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                        related_name="notes", to="evidence.recording")),
                    ],
                    options={"db_table": "access_note", "ordering": ["created_at"]},
                ),
                migrations.CreateModel(
                    name="Tag",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("name", models.CharField(max_length=64)),
                        ("recording", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                        related_name="tags", to="evidence.recording")),
                    ],
                    options={
                        "db_table": "access_tag",
                        "ordering": ["name"],
                        "constraints": [models.UniqueConstraint(fields=("recording", "name"),
                                                                name="tag_unique_per_recording")],
                    },
                ),
            ],
        ),
    ]
