"""One text document per (recording, source). The full-text index over ``text`` is made by
the migration: an FTS5 table kept in step by triggers on SQLite, a GIN expression index on
PostgreSQL."""

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
