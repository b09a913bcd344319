from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.settings_page, name="notify-settings"),
]
