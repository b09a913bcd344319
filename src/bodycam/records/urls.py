from django.urls import path

from . import views

urlpatterns = [
    path("records/", views.request_list, name="records-list"),
    path("records/clip/<str:clip_id>/transcript/", views.transcript_page, name="records-transcript"),
    path("records/clip/<str:clip_id>/redact/", views.redact_page, name="records-redact"),
    path("records/redaction/<str:redaction_id>/", views.redaction_editor, name="records-redaction"),
    path("records/<str:number>/", views.request_page, name="records-request"),
    path("records/<str:number>/package.zip", views.request_package, name="records-package"),
    path("records/<str:number>/correspondence/<str:entry_id>/file", views.correspondence_file,
         name="records-correspondence-file"),
    # the requester's delivery link (no account): /r/TOKEN/ moves the token to a cookie
    path("r/<str:token>/", views.delivery_enter, name="records-delivery-enter"),
    path("r/l/<str:link_id>/", views.delivery_page, name="records-delivery"),
    path("r/l/<str:link_id>/package.zip", views.delivery_download, name="records-delivery-download"),
    # REST API
    path("api/evidence/<str:clip_id>/captions.vtt", views.api_captions),
    path("api/evidence/<str:clip_id>/translation.vtt", views.api_translation_captions),
    path("api/evidence/<str:clip_id>/transcript", views.api_transcript),
    path("api/evidence/<str:clip_id>/redactions", views.api_redaction_start),
    path("api/redactions/<str:redaction_id>", views.api_redaction, name="api-redaction"),
    path("api/redactions/<str:redaction_id>/render", views.api_redaction_render, name="api-redaction-render"),
]
