"""Full-text search documents over the catalogue (SQLite FTS5 / PostgreSQL full text).

Each recording has one document per text *source* (metadata, notes, tags, transcript...).
Other packages feed their text with ``bodycam.search.services.index_text`` and the search
page finds it; see docs/web.md."""
