# Case/CaseFile went to the cases app, Note/Tag to evidence, Share to release (issue 15).
# State only: the new owners took over the same tables (db_table), so nothing is dropped.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0003_case_status_incident"),
        ("cases", "0001_initial"),
        ("evidence", "0003_note_tag_from_access"),
        ("release", "0002_share_from_access"),
        ("retention", "0002_hold_case_in_cases"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="CaseFile"),
                migrations.DeleteModel(name="Case"),
                migrations.DeleteModel(name="Share"),
                migrations.DeleteModel(name="Note"),
                migrations.DeleteModel(name="Tag"),
            ],
        ),
    ]
