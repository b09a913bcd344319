from django.urls import include, path

urlpatterns = [
    path("", include("bodycam.ingest.urls")),
    path("", include("bodycam.web.urls")),
    path("", include("bodycam.release.urls")),
    path("", include("bodycam.ops.urls")),
    path("", include("bodycam.jobs.urls")),
    path("", include("bodycam.retention.urls")),
    path("", include("bodycam.records.urls")),
    path("", include("bodycam.notify.urls")),
    path("", include("bodycam.live.urls")),
]

# Errors no view handles: the styled error page (base.html's navigation and a way home).
handler404 = "bodycam.http.not_found_page"
handler500 = "bodycam.http.server_error_page"
