from django.urls import include, path

urlpatterns = [
    path("", include("bodycam.ingest.urls")),
    path("", include("bodycam.web.urls")),
    path("", include("bodycam.release.urls")),
    path("", include("bodycam.records.urls")),
]
