from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bodycam.web"
    label = "web"
