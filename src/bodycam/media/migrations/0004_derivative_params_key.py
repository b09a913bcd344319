"""One derivative per (clip, kind, settings), step 1: the settings key, and the duplicates
made before (``media backfill`` beside a running playback job made two proxies of one clip)
resolved without removing anything: every row stays, so every blob a row names stays named
(fixity keeps checking it, the orphan sweep leaves it, audit entries naming the row still
resolve). Of each group of duplicates the row a transcript, translation or redaction names is
kept as the one (else the oldest); the others are marked ``duplicate:<their id>``.
Step 2 (0005) adds the unique constraint."""

import hashlib
import json

from django.db import migrations, models


def _key(params) -> str:
    if isinstance(params, str):  # a JSON column read as text on some engines
        params = json.loads(params)
    return hashlib.sha256(json.dumps(params or {}, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


def resolve_duplicates(apps, schema_editor):
    Derivative = apps.get_model("media", "Derivative")
    named = set()
    for model, fields in (("Transcript", ("vtt_id", "json_id")), ("Translation", ("vtt_id", "json_id")),
                          ("Redaction", ("output_id",))):
        for row in apps.get_model("media", model).objects.values_list(*fields):
            named.update(v for v in row if v)
    groups: dict = {}
    for d in Derivative.objects.order_by("created_at", "id").only("id", "clip_id", "kind", "params").iterator():
        groups.setdefault((d.clip_id, d.kind, _key(d.params)), []).append(d.id)
    for (_clip, _kind, key), ids in groups.items():
        keep = next((i for i in ids if i in named), ids[0])
        Derivative.objects.filter(id=keep).update(params_key=key)
        for other in ids:
            if other != keep:
                Derivative.objects.filter(id=other).update(params_key=f"duplicate:{other.hex}")


class Migration(migrations.Migration):

    dependencies = [
        ('media', '0003_languages_translation'),
    ]

    operations = [
        migrations.AddField(
            model_name='derivative',
            name='params_key',
            field=models.CharField(default='', editable=False, max_length=64),
        ),
        migrations.RunPython(resolve_duplicates, migrations.RunPython.noop),
    ]
