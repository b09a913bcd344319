# One tag concept (issue 20): a camera bookmark's tags ("Plate:ABC123;Priority") become tags
# of its recording, so the tag filter finds them. Data only: new rows in access_tag for the
# bookmarks already stored; no table or column changes. New bookmarks get theirs at ingest
# (evidence.signals). The search text already held these words (the metadata document).

from django.db import migrations


def _names(tags):
    names = []
    for key, value in (tags or {}).items():
        name = (f"{key}:{value}" if value else str(key)).strip()[:64].strip()
        if name and name not in names:
            names.append(name)
    return names


def bookmark_tags(apps, schema_editor):
    Bookmark = apps.get_model("evidence", "Bookmark")
    Tag = apps.get_model("evidence", "Tag")
    for rec_id, tags in Bookmark.objects.values_list("recording_id", "tags").iterator():
        for name in _names(tags):
            Tag.objects.get_or_create(recording_id=rec_id, name=name)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0003_note_tag_from_access")]

    operations = [migrations.RunPython(bookmark_tags, migrations.RunPython.noop)]
