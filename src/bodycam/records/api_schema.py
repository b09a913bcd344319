"""OpenAPI description (drf-spectacular) of records' API views: transcripts, captions,
redactions. Describes the JSON only; the services validate the bodies (400 ``{"error": ...}``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

CLIP_ID = OpenApiParameter("clip_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="the clip's id (a UUID); any other value is answered 404")
REDACTION_ID = OpenApiParameter("redaction_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                description="the redaction's id (a UUID)")
VTT = {(200, "text/vtt"): OpenApiResponse(OpenApiTypes.STR, description="WebVTT captions")}


class TranscriptRequest(serializers.Serializer):
    language = serializers.CharField(required=False, help_text="auto, or a Whisper language code (en, es, ...)")
    translate = serializers.BooleanField(required=False, help_text="also translate non-English speech to English")


class JobQueued(serializers.Serializer):
    job = serializers.UUIDField()
    status = serializers.CharField()


class Segment(serializers.Serializer):
    start = serializers.FloatField(min_value=0)
    end = serializers.FloatField(min_value=0)
    text = serializers.CharField(max_length=5000, allow_blank=True)
    language = serializers.CharField(required=False)
    words = serializers.ListField(child=serializers.JSONField(), required=False)


class TranscriptEdit(serializers.Serializer):
    segments = Segment(many=True)
    note = serializers.CharField(required=False, allow_blank=True, help_text="why (kept with the revision)")


class TranscriptEdited(serializers.Serializer):
    version = serializers.IntegerField()
    segments = serializers.ListField(child=serializers.JSONField())


class Revision(serializers.Serializer):
    version = serializers.IntegerField()
    author = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField()


class Translation(serializers.Serializer):
    machine_translation = serializers.BooleanField()
    language = serializers.CharField()
    source_languages = serializers.ListField(child=serializers.CharField())
    model = serializers.CharField()
    segments = serializers.ListField(child=serializers.JSONField())
    captions = serializers.CharField()


class TranscriptOut(serializers.Serializer):
    clip = serializers.UUIDField()
    model = serializers.CharField()
    version = serializers.IntegerField()
    segments = serializers.ListField(child=serializers.JSONField())
    machine = serializers.JSONField()
    language = serializers.CharField()
    language_probability = serializers.FloatField(allow_null=True)
    language_source = serializers.CharField()
    languages = serializers.JSONField()
    translation = Translation(allow_null=True)
    revisions = Revision(many=True)


class RedactionStart(serializers.Serializer):
    step = serializers.IntegerField(required=False, help_text="analyse every n-th frame (1-30, default 10: the "
                                    "analysis made after ingest, reused at once)")


class RedactionEdit(serializers.Serializer):
    method = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)
    tracks = serializers.ListField(child=serializers.DictField(), required=False,
                                   help_text="[{id, enabled, reason, method}]")
    add_tracks = serializers.ListField(child=serializers.DictField(), required=False,
                                       help_text="[{label, keys, reason, method}]")
    remove_tracks = serializers.ListField(child=serializers.CharField(), required=False)
    audio = serializers.ListField(child=serializers.DictField(), required=False,
                                  help_text="[{start, end, mode, reason, words}]")


class RedactionOut(serializers.Serializer):
    id = serializers.UUIDField()
    clip = serializers.UUIDField()
    status = serializers.CharField()
    plan = serializers.JSONField()
    parent_sha256 = serializers.CharField()
    output = serializers.UUIDField(allow_null=True)
    output_sha256 = serializers.CharField(allow_null=True)
    analyze_job = serializers.UUIDField(allow_null=True)
    render_job = serializers.UUIDField(allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
