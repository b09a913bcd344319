from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "bodycam.access"
    label = "access"
