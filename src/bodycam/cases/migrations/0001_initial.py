# Case and CaseFile moved here from the access app (issue 15). State only: the tables
# (access_case, access_case_detectives, access_case_recordings, access_casefile) and their
# rows stay exactly where they are; nothing is created, copied or dropped.

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

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
                    name="Case",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("number", models.CharField(max_length=64, unique=True)),
                        ("title", models.CharField(blank=True, default="", max_length=200)),
                        ("incident_number", models.CharField(blank=True, db_index=True, default="",
                                                             help_text="dispatch (CAD) incident number", max_length=64)),
                        ("status", models.CharField(choices=[("open", "Open"), ("closed", "Closed")], db_index=True,
                                                    default="open", max_length=8)),
                        ("closed_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("detectives", models.ManyToManyField(blank=True, related_name="cases",
                                                              to=settings.AUTH_USER_MODEL)),
                        ("recordings", models.ManyToManyField(blank=True, related_name="cases",
                                                              to="evidence.recording")),
                    ],
                    options={"db_table": "access_case"},
                ),
                migrations.CreateModel(
                    name="CaseFile",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("name", models.CharField(max_length=200)),
                        ("description", models.CharField(blank=True, default="", max_length=500)),
                        ("sha256", models.CharField(db_index=True, max_length=64)),
                        ("size", models.BigIntegerField()),
                        ("content_type", models.CharField(default="application/octet-stream", max_length=100)),
                        ("uploaded_at", models.DateTimeField(auto_now_add=True)),
                        ("case", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="files",
                                                   to="cases.case")),
                        ("uploaded_by", models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                                          related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "access_casefile", "ordering": ["uploaded_at"]},
                ),
            ],
        ),
    ]
