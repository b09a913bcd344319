from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "bodycam.evidence"
    label = "evidence"
