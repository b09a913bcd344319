"""One tag concept: a camera bookmark's tags are tags of its recording (``services.add_bookmark_tags``)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import services
from .models import Bookmark


@receiver(post_save, sender=Bookmark)
def _bookmark_saved(sender, instance, raw=False, **kw):
    if not raw:  # (raw: a restore or fixture brings its Tag rows itself)
        services.add_bookmark_tags(instance)


@receiver(post_delete, sender=Bookmark)
def _bookmark_deleted(sender, instance, **kw):
    services.drop_bookmark_tags(instance)
