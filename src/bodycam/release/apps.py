from django.apps import AppConfig


class ReleaseConfig(AppConfig):
    name = "bodycam.release"
    label = "release"
