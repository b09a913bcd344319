from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "bodycam.retention"
    default_auto_field = "django.db.models.BigAutoField"
