from django.urls import path

from . import views

urlpatterns = [
    path("s/<str:token>/", views.link_enter, name="link"),  # the shared URL; moves the token to a cookie
    path("s/l/<str:link_id>/", views.link_page, name="link-page"),
    path("s/l/<str:link_id>/media/<str:clip_id>", views.link_media, name="link-media"),
    path("s/l/<str:link_id>/download/<str:clip_id>", views.link_download, name="link-download"),
    path("s/l/<str:link_id>/export", views.link_export, name="link-export"),
    # REST API
    path("api/evidence/<str:clip_id>/export", views.item_export),
    path("api/evidence/<str:clip_id>/item-shares", views.api_item_share),
    path("api/evidence/<str:clip_id>/links", views.api_item_link),
    path("api/cases/<str:case_key>/shares", views.api_case_share),
    path("api/cases/<str:case_key>/links", views.api_case_link),
    path("api/cases/<str:case_key>/export", views.case_export, name="api-case-export"),
    path("api/shares/<str:kind>/<str:share_id>/revoke", views.api_revoke),
]
