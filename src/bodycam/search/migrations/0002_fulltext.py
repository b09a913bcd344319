"""The full-text index over SearchDocument.text, per database:

SQLite: an external-content FTS5 table (search_fts, rowid = document id) kept in step by
triggers, so every write to a document updates the index in the same transaction.
PostgreSQL: a GIN index on to_tsvector('simple', text).
Plus an index on evidence_clip(start_time), the search page's default sort key (an index
only: the evidence schema itself is unchanged)."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(text, content='search_searchdocument', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_fts_ai AFTER INSERT ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER search_fts_ad AFTER DELETE ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER search_fts_au AFTER UPDATE ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_DOWN = ["DROP TRIGGER search_fts_au", "DROP TRIGGER search_fts_ad", "DROP TRIGGER search_fts_ai",
               "DROP TABLE search_fts"]
POSTGRES = ["CREATE INDEX search_doc_fts ON search_searchdocument USING GIN (to_tsvector('simple', text))"]
POSTGRES_DOWN = ["DROP INDEX search_doc_fts"]
COMMON = ["CREATE INDEX IF NOT EXISTS search_clip_start ON evidence_clip (start_time)"]
COMMON_DOWN = ["DROP INDEX IF EXISTS search_clip_start"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements_by_vendor.get(vendor, []) + statements_by_vendor.get("*", []):
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial"), ("evidence", "0001_initial")]

    operations = [migrations.RunPython(_run({"sqlite": SQLITE, "postgresql": POSTGRES, "*": COMMON}),
                                       _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN, "*": COMMON_DOWN}))]
