from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "bodycam.ingest"
    label = "ingest"
