"""Readable identity: evidence numbers and titles. Recordings already in the catalogue are
numbered here, in order of their start time (the pattern and zone of the settings in force),
through the same sequences new recordings then continue."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Coalesce


def number_existing(apps, schema_editor):
    from bodycam.evidence.identity import format_number, sequence_key

    Recording = apps.get_model("evidence", "Recording")
    EvidenceSequence = apps.get_model("evidence", "EvidenceSequence")
    pattern = settings.EVIDENCE_NUMBER_PATTERN
    last: dict[str, int] = dict(EvidenceSequence.objects.values_list("key", "last"))
    rows = (Recording.objects.filter(evidence_number__isnull=True)
            .annotate(began=Coalesce(F("start_time"), F("trigger_on_time")))
            .order_by("began", "trigger_on_time", "container_name").values_list("id", "began"))
    for rid, began in rows.iterator(chunk_size=2000):
        key = sequence_key(pattern, began)
        last[key] = last.get(key, 0) + 1
        Recording.objects.filter(pk=rid).update(evidence_number=format_number(pattern, began, last[key]))
    for key, value in last.items():
        EvidenceSequence.objects.update_or_create(key=key, defaults={"last": value})


class Migration(migrations.Migration):

    dependencies = [
        ('evidence', '0004_bookmark_tags'),
    ]

    operations = [
        migrations.CreateModel(
            name='EvidenceSequence',
            fields=[
                ('key', models.CharField(max_length=100, primary_key=True, serialize=False)),
                ('last', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name='recording',
            name='evidence_number',
            field=models.CharField(blank=True, editable=False, max_length=100, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='recording',
            name='title',
            field=models.CharField(blank=True, default='', max_length=200),
        ),
        migrations.RunPython(number_existing, migrations.RunPython.noop),
    ]
