from django.urls import path

from . import api, views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("mfa/", views.mfa_view, name="mfa"),
    path("logout/", views.logout_view, name="logout"),
    path("", views.evidence_list, name="evidence-list"),
    path("evidence/<str:clip_id>/", views.evidence_detail, name="evidence-detail"),
    path("users/", views.users_view, name="users"),
    path("audit/", views.audit_view, name="audit"),
    path("healthz", views.healthz),
    # REST API (see web/api.py)
    path("api/evidence/", api.evidence_list),
    path("api/evidence/<str:clip_id>/", api.evidence_detail),
    path("api/evidence/<str:clip_id>/stream", api.evidence_stream),
    path("api/evidence/<str:clip_id>/download", api.evidence_download),
    path("api/evidence/<str:clip_id>/shares", api.evidence_share),
    path("api/evidence/<str:clip_id>/audit", api.evidence_audit),
    path("api/evidence/<str:clip_id>/custody.<str:fmt>", api.custody_report),
    path("api/recordings/<str:recording_id>/release", api.recording_release),
    path("api/audit/", api.audit_log),
    path("api/audit/checkpoint", api.audit_checkpoint),
    path("api/users/<str:username>/unlock", api.user_unlock),
    path("api/users/<str:username>/role", api.user_role),
]
