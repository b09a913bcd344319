from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "bodycam.search"
    label = "search"

    def ready(self):
        from . import signals  # noqa: F401 - keeps documents current as notes/tags/bookmarks change
