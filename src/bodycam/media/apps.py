from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "bodycam.media"
    label = "media"
