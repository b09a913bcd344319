from django.urls import path

from . import views

urlpatterns = [
    # cameras (device-signed)
    path("live/v1/status", views.device_status, name="live-status"),
    path("live/v1/publish", views.device_publish, name="live-publish"),
    path("live/v1/publish/<str:stream_id>", views.device_unpublish, name="live-publish-end"),
    # people
    path("live/", views.onair_page, name="live-onair"),
    path("live/onair.json", views.onair_json, name="live-onair-json"),
    path("live/<str:session_id>/", views.player_page, name="live-player"),
    path("live/<str:session_id>/watch", views.watch, name="live-watch"),
    path("live/<str:session_id>/watch/<str:viewer_id>/end", views.watch_end, name="live-watch-end"),
]
