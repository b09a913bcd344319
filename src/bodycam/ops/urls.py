from django.urls import path

from . import views

urlpatterns = [
    path("readyz", views.readyz),
    path("metrics", views.metrics),
    path("ops/storage/", views.storage_page, name="ops-storage"),
]
