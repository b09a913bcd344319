from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^auth/v1\.0/?$", views.auth),
    re_path(r"^v1/(?P<account>AUTH_[^/]+)/?$", views.swift_api),
    re_path(r"^v1/(?P<account>AUTH_[^/]+)/(?P<container>[^/]+)/?$", views.swift_api),
    re_path(r"^v1/(?P<account>AUTH_[^/]+)/(?P<container>[^/]+)/(?P<obj>.+)$", views.swift_api),
]
