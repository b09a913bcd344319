"""The OpenAPI 3 description of the REST API (drf-spectacular): the request and response
shapes the views in ``web/api.py`` (and the release and records API views) send and take.

These serializers only *describe* the JSON; the services validate the bodies themselves
(a clear 400 ``{"error": ...}`` for anything else). Every operation also gets the error
answers every view may give, in the one error shape (``error_responses`` below), added by
the postprocessing hook ``add_error_responses`` (settings ``SPECTACULAR_SETTINGS``).

Served at ``/api/schema/`` (JSON; ``?format=yaml`` for YAML) and browsable at ``/api/docs/``,
both to signed-in people and API tokens only (deny by default).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from ..release import api_schema as release_doc

# ------------------------------------------------------------------------------ errors
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"description": "why the request was refused (a sentence, or DRF's detail)",
                             "oneOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}]}},
    "required": ["error"],
}
# Every API view may answer these, in the error shape above (web.api.exception_handler,
# bodycam.http middlewares): bad input, no identity, no permission / not visible, wrong
# method, a conflict, a body too large, a media type it cannot parse, not acceptable, a range
# outside the file (416 carries no body), too many requests, storage full / not ready yet.
ERROR_STATUSES = {
    "400": "bad input: the reason is in error",
    "401": "no valid API token (Bearer) was given",
    "403": "not signed in, or not allowed (deny by default; audited)",
    "404": "no such item, or not visible to you (the same answer)",
    "405": "method not allowed",
    "406": "the Accept header asks for a type this operation does not answer",
    "409": "conflict with the item's current state",
    "413": "request body too large",
    "415": "unsupported media type (send application/json)",
    "429": "too many requests; Retry-After says when to try again",
    "503": "not ready yet (e.g. the playback copy is still being made) or a store is unavailable",
    "507": "storage full",
}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the shared ``Error`` component, and the error answers on every
    operation that does not document them itself."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, op in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = op.setdefault("responses", {})
            for code, text in ERROR_STATUSES.items():
                answer = responses.setdefault(code, {"description": text})
                answer.setdefault("content", {"application/json": {"schema": error_ref}})
            responses.setdefault("416", {"description": "the Range asked for lies outside the file"}) \
                if method == "get" else None
    return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "bodycam.access.drf.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "an API token (bct_...) from `bodycam token create`; acts with its user's role"}


# ------------------------------------------------------------------------------ shared parts
CLIP_ID = OpenApiParameter("clip_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="the clip's id (a UUID); any other value is answered 404")
RANGE_HEADER = OpenApiParameter("Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                                description="bytes=START-END (one range); answered 206 with Content-Range")


def binary(description: str, partial: bool = False, content_types=("video/mp4",)) -> dict:
    """Responses of an operation that answers a file of one of ``content_types`` (``partial``:
    206 to a Range)."""
    out = {}
    for ct in content_types:
        out[(200, ct)] = OpenApiResponse(OpenApiTypes.BINARY, description=description)
        if partial:
            out[(206, ct)] = OpenApiResponse(OpenApiTypes.BINARY, description="the part the Range asked for")
    return out


ORIGINAL_TYPES = ("video/mp4", "video/x-matroska")  # web.api._original_type


class Officer(serializers.Serializer):
    username = serializers.CharField(allow_null=True, help_text="the officer's account, if any")
    name = serializers.CharField(allow_blank=True)
    axis_user_id = serializers.UUIDField()


class ClipSummary(serializers.Serializer):
    id = serializers.UUIDField()
    recording_id = serializers.UUIDField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    officer = Officer()
    device = serializers.CharField(help_text="the camera's serial")
    recording = serializers.CharField(help_text="the recording's container name")
    object = serializers.CharField(help_text="the clip's object name")
    start = serializers.DateTimeField(allow_null=True)
    stop = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField()
    trigger_on = serializers.CharField(allow_blank=True)
    trigger_off = serializers.CharField(allow_blank=True)
    trigger_on_time = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    signature = serializers.ChoiceField(choices=["valid", "invalid", "absent"])


class ClipList(serializers.Serializer):
    total = serializers.IntegerField()
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    results = ClipSummary(many=True)


class Capabilities(serializers.Serializer):
    play = serializers.BooleanField()
    download = serializers.BooleanField()
    edit = serializers.BooleanField()
    share = serializers.BooleanField()
    audit = serializers.BooleanField()
    delete = serializers.BooleanField()
    categories_remove = serializers.BooleanField()
    transcript_edit = serializers.BooleanField()
    redact = serializers.BooleanField()



class Clip(ClipSummary):
    categories = serializers.ListField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    restricted = serializers.BooleanField()
    can = Capabilities(help_text="what you may do to this item")


class NoteOut(serializers.Serializer):
    id = serializers.UUIDField()
    author = serializers.CharField()
    text = serializers.CharField()
    at = serializers.DateTimeField()


class BookmarkOut(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)


class ShareOut(release_doc.ShareFields):
    kind = serializers.CharField(required=False, help_text="item | case | link")
    recording_id = serializers.UUIDField(required=False)
    recipient = serializers.CharField(required=False)


class ClipDetail(Clip):
    notes = NoteOut(many=True)
    bookmarks = BookmarkOut(many=True)
    shares = serializers.ListField(child=serializers.DictField(), help_text="every share reaching the recording "
                                                                            "(to those who may share; else empty)")


class MetadataEdit(serializers.Serializer):
    note = serializers.CharField(required=False, max_length=5000, help_text="a note to add")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=50,
                                 help_text="the recording's tags (replaces them)")
    categories = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="the recording's categories (replaces them)")
    reason = serializers.CharField(required=False, help_text="required when a category is removed or retention shortens")


ShareIn, ShareCreated = release_doc.ShareIn, release_doc.ItemShareOut  # the same service (share_item)


class AuditEvent(serializers.Serializer):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    source = serializers.CharField(allow_blank=True)
    action = serializers.CharField()
    object_type = serializers.CharField(allow_blank=True)
    object_id = serializers.CharField(allow_blank=True)
    object_sha256 = serializers.CharField(allow_blank=True)
    outcome = serializers.CharField()
    detail = serializers.JSONField()
    prev_hash = serializers.CharField()
    entry_hash = serializers.CharField()


class ClipAudit(serializers.Serializer):
    clip = serializers.UUIDField()
    sha256 = serializers.CharField()
    events = AuditEvent(many=True)


class AuditLog(serializers.Serializer):
    entries = AuditEvent(many=True)
    next_after = serializers.IntegerField(help_text="pass as ?after= for the next page")


class CheckpointOut(serializers.Serializer):
    size = serializers.IntegerField()
    head_hash = serializers.CharField()
    at = serializers.DateTimeField()
    public_key = serializers.CharField()
    signature = serializers.CharField()


# "in" is a Python keyword, so this one is made with type()
ExcerptIn = type("ExcerptIn", (serializers.Serializer,), {
    "__module__": __name__,
    "in": serializers.FloatField(min_value=0, help_text="seconds from the clip's start"),
    "out": serializers.FloatField(help_text="seconds from the clip's start (more than in, at least 0.2 s later)")})


class JobOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.FloatField()
    message = serializers.CharField(allow_blank=True)
    result = serializers.JSONField()
    error = serializers.CharField(allow_blank=True)


class PlateReadOut(serializers.Serializer):
    text = serializers.CharField(help_text="the plate as read: upper-case letters and digits")
    start_s = serializers.FloatField(help_text="first second the plate is in view")
    end_s = serializers.FloatField()
    score = serializers.FloatField(help_text="the model's mean character probability")
    finding = serializers.ChoiceField(choices=["machine"], help_text="always machine: read by a model, not a person")
    label = serializers.CharField()


class SearchResult(ClipSummary):
    plate_reads = PlateReadOut(many=True, help_text="licence plates the query names, as the machine read them")


class SearchPage(serializers.Serializer):
    total = serializers.IntegerField()
    total_capped = serializers.BooleanField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    per_page = serializers.IntegerField()
    results = SearchResult(many=True)


class RoleIn(serializers.Serializer):
    role = serializers.CharField(help_text="officer | supervisor | detective | custodian | prosecutor | auditor | admin")
    reason = serializers.CharField(help_text="why (audited)")


class UnlockOut(serializers.Serializer):
    username = serializers.CharField()
    locked = serializers.BooleanField()


class RoleOut(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()


class ReleaseOut(serializers.Serializer):
    recording = serializers.CharField()
    released = serializers.IntegerField(help_text="how many locks were released")


class CustodyReport(serializers.Serializer):
    report = serializers.CharField()
    generated_at = serializers.DateTimeField()
    generated_by = serializers.CharField()
    item = serializers.DictField()
    ingest = serializers.DictField()
