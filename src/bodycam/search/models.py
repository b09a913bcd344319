"""Search's own tables.

``SearchDocument``: one text document per (recording, source) — metadata, notes, tags,
transcript... — so one source can be replaced without touching the others.

``SearchEntry``: the search page's read model, one row per clip, holding everything one
search needs on one row: the sort keys (time, officer, device, duration), the filter keys
(officer, device) and the recording's documents joined into one text. The full-text index is
on this table (FTS5 on SQLite, a stored tsvector + GIN on PostgreSQL; made by migration
0003), so the text match, the filters and the sort run as one plan that can stop after a
page. Kept in step by ``index.refresh_entries``; never read for evidence itself: result
rows are re-read through the one access check (``access.services.visible_clips``).
"""

from django.db import models


class SearchDocument(models.Model):
    id = models.BigAutoField(primary_key=True)
    recording = models.ForeignKey("evidence.Recording", on_delete=models.CASCADE, related_name="search_documents")
    source = models.CharField(max_length=32, help_text="metadata | notes | tags | transcript | ...")
    text = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recording", "source"], name="search_doc_unique_source")]
        indexes = [models.Index(fields=["source", "recording"])]


class SearchEntry(models.Model):
    id = models.BigAutoField(primary_key=True)  # the FTS5 rowid on SQLite
    clip = models.OneToOneField("evidence.Clip", on_delete=models.CASCADE, related_name="search_entry")
    recording = models.ForeignKey("evidence.Recording", on_delete=models.CASCADE, related_name="+",
                                  db_index=False)  # led by the composite indexes below
    officer = models.ForeignKey("evidence.Officer", on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey("evidence.Device", on_delete=models.CASCADE, related_name="+", db_index=False)
    # The clip's start, or the recording's trigger time for cameras that send no clip times.
    sort_time = models.DateTimeField()
    object_name = models.CharField(max_length=200)
    duration_s = models.FloatField()
    officer_name = models.CharField(max_length=100)
    device_serial = models.CharField(max_length=64)
    text = models.TextField(default="")

    class Meta:
        # One index per sort order the search page offers, and one per filter + date pair,
        # each ending in the tie-breaker so pages never repeat or skip a row.
        indexes = [
            models.Index(fields=["sort_time", "object_name", "clip"], name="search_entry_time"),
            models.Index(fields=["officer_name", "-sort_time", "-clip"], name="search_entry_officer_sort"),
            models.Index(fields=["device_serial", "-sort_time", "-clip"], name="search_entry_device_sort"),
            models.Index(fields=["-duration_s", "-sort_time", "-clip"], name="search_entry_longest"),
            models.Index(fields=["officer", "sort_time"], name="search_entry_officer_time"),
            models.Index(fields=["device", "sort_time"], name="search_entry_device_time"),
            models.Index(fields=["recording", "sort_time"], name="search_entry_recording_time"),
        ]
