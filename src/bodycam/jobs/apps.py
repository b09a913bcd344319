from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "bodycam.jobs"
    label = "jobs"
