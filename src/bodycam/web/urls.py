from django.contrib.staticfiles.views import serve as static_serve
from django.urls import path

from . import api, api_docs, cases, home, pages, sso, views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("mfa/", views.mfa_view, name="mfa"),
    path("login/oidc/", sso.oidc_start, name="login-oidc"),
    path("login/oidc/callback", sso.oidc_callback, name="login-oidc-callback"),
    path("logout/", views.logout_view, name="logout"),
    path("", home.home_page, name="home"),
    path("evidence/", pages.search_page, name="evidence-list"),
    path("evidence/bulk", pages.bulk_action, name="evidence-bulk"),
    path("evidence/<str:clip_id>/", pages.item_page, name="evidence-detail"),
    path("timeline/", pages.timeline_page, name="timeline"),
    path("cases/", cases.case_list, name="case-list"),
    path("cases/<str:case_key>/", cases.case_page, name="case-detail"),
    path("cases/<str:case_key>/status", cases.case_status, name="case-status"),
    path("cases/<str:case_key>/files", cases.case_file_upload, name="case-file-upload"),
    path("cases/<str:case_key>/files/<str:file_id>", cases.case_file_download, name="case-file"),
    path("users/", views.users_view, name="users"),
    path("audit/", views.audit_view, name="audit"),
    path("healthz", views.healthz),
    # The pages' CSS and JS (each app's static/ folder), served by the app itself (no web server in
    # front is required); public like the sign-in page that uses them, and never evidence.
    path("static/<path:path>", static_serve, {"insecure": True}, name="static"),
    # REST API (see web/api.py)
    path("api/evidence/", api.evidence_list),
    path("api/evidence/<str:clip_id>/", api.evidence_detail),
    path("api/evidence/<str:clip_id>/stream", api.evidence_stream),
    path("api/evidence/<str:clip_id>/download", api.evidence_download, name="api-evidence-download"),
    path("api/evidence/<str:clip_id>/shares", api.evidence_share),
    path("api/evidence/<str:clip_id>/audit", api.evidence_audit),
    path("api/evidence/<str:clip_id>/custody.<str:fmt>", api.custody_report, name="api-custody-report"),
    path("api/evidence/<str:clip_id>/proxy", api.evidence_proxy),
    path("api/evidence/<str:clip_id>/thumbnail.jpg", api.evidence_thumbnail, name="api-evidence-thumbnail"),
    path("api/evidence/<str:clip_id>/image.jpg", api.evidence_image, name="api-evidence-image"),
    path("api/evidence/<str:clip_id>/excerpts", api.evidence_excerpt),
    path("api/evidence/<str:clip_id>/derivatives/<str:derivative_id>", api.evidence_derivative,
         name="api-evidence-derivative"),
    path("api/search", api.search),
    path("api/jobs/<str:job_id>", api.job_detail, name="api-job"),
    path("api/recordings/<str:recording_id>/release", api.recording_release),
    path("api/audit/", api.audit_log),
    path("api/audit/checkpoint", api.audit_checkpoint),
    path("api/users/<str:username>/unlock", api.user_unlock),
    path("api/users/<str:username>/role", api.user_role),
    # OpenAPI 3 schema of the API above (JSON; ?format=yaml) and its reference page: signed-in only
    path("api/schema/", api_docs.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", api_docs.docs_page, name="api-docs"),
]
