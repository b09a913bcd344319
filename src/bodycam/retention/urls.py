from django.urls import path

from . import manage_views, views

urlpatterns = [
    path("retention/", views.overview, name="retention"),
    path("retention/compliance/", views.compliance_page, name="retention-compliance"),
    path("retention/storage/", views.storage_page, name="retention-storage"),
    path("retention/cad/", views.cad_page, name="retention-cad"),
    path("retention/cad/sample.csv", manage_views.cad_sample, name="retention-cad-sample"),
    path("retention/categories/", manage_views.categories_page, name="retention-categories"),
    path("retention/categories/change", manage_views.category_change, name="retention-category-change"),
    path("retention/categories/retire", manage_views.category_status, {"verb": "retire"},
         name="retention-category-retire"),
    path("retention/categories/restore", manage_views.category_status, {"verb": "restore"},
         name="retention-category-restore"),
    path("retention/call-types/", manage_views.call_types_page, name="retention-call-types"),
]
