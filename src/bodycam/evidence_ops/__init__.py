"""What a signed-in user does with an evidence item: list, view, play, download, edit its
metadata, read its audit trail and custody report (``services``).

It sits just above ``access`` in the layers: every operation asks access for the one check
(``access.services.authorize`` / ``visible_clips``) and works on the catalogue (``evidence``)
and the audit chain (``custody``), both below it. The pages and the REST API (``web``) and
the feature apps above it (media, records, release) call it."""
