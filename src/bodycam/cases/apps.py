from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "bodycam.cases"
    label = "cases"
