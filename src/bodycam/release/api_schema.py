"""OpenAPI description (drf-spectacular) of release's API views: shares, links, exports.
Describes the JSON only; ``services`` validates the bodies (400 ``{"error": ...}``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

CLIP_ID = OpenApiParameter("clip_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="the clip's id (a UUID); any other value is answered 404")
CASE_KEY = OpenApiParameter("case_key", OpenApiTypes.STR, OpenApiParameter.PATH, description="case number or id")
ZIP = {(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="signed court export (zip)")}


class ShareIn(serializers.Serializer):
    recipient = serializers.CharField(help_text="a prosecutor's username")
    allow_download = serializers.BooleanField(required=False, default=False)
    no_reshare = serializers.BooleanField(required=False, default=False)
    days = serializers.IntegerField(required=False, min_value=1, max_value=3650, help_text="none: until revoked")


class LinkIn(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, help_text="how long the link lives (at most SHARE_LINK_MAX_DAYS)")
    label = serializers.CharField(required=False, max_length=200, help_text="who it is for")
    allow_download = serializers.BooleanField(required=False, default=False)
    no_reshare = serializers.BooleanField(required=False, default=False)


class ShareFields(serializers.Serializer):
    """What every share answer carries (the item API's share list adds its own fields)."""

    id = serializers.UUIDField()
    created_by = serializers.CharField()
    allow_download = serializers.BooleanField()
    no_reshare = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ItemShareOut(ShareFields):
    recording_id = serializers.UUIDField()
    recipient = serializers.CharField()


class CaseShareOut(ShareFields):
    kind = serializers.CharField()
    case = serializers.CharField(help_text="the case number")
    recipient = serializers.CharField()


class LinkOut(ShareFields):
    kind = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    claimed = serializers.BooleanField()
    case = serializers.CharField(allow_null=True)
    recording = serializers.UUIDField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    url = serializers.URLField(help_text="the link; shown once (only its hash is kept)")


class RevokeOut(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["item", "case", "link"])
    revoked_at = serializers.DateTimeField()
