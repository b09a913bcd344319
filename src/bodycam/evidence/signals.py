"""One tag concept: a camera bookmark's tags are tags of its recording (``services.add_bookmark_tags``).
Bookmarks are removed only by a retention purge, which leaves Tag rows as it leaves a
person's (the purged recording is in no search: ``search.services.forget``)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from . import services
from .models import Bookmark


@receiver(post_save, sender=Bookmark)
def _bookmark_saved(sender, instance, raw=False, **kw):
    if not raw:  # (raw: a restore or fixture brings its Tag rows itself)
        services.add_bookmark_tags(instance)

