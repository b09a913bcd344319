from django.urls import path

from . import views

urlpatterns = [
    path("retention/", views.overview, name="retention"),
    path("retention/compliance/", views.compliance_page, name="retention-compliance"),
    path("retention/storage/", views.storage_page, name="retention-storage"),
    path("retention/cad/", views.cad_page, name="retention-cad"),
    path("cases/<str:case_key>/status", views.case_status, name="case-status"),
    path("cases/<str:case_key>/files", views.case_file_upload, name="case-file-upload"),
    path("cases/<str:case_key>/files/<str:file_id>", views.case_file_download, name="case-file"),
]
