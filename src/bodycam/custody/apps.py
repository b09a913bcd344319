from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "bodycam.custody"
    label = "custody"
