from django.urls import path

from . import views

urlpatterns = [
    path("retention/", views.overview, name="retention"),
    path("retention/compliance/", views.compliance_page, name="retention-compliance"),
    path("retention/storage/", views.storage_page, name="retention-storage"),
    path("retention/cad/", views.cad_page, name="retention-cad"),
]
