"""Keep search documents current: each change to a recording's text reindexes that one
recording's affected source (a few small queries, in the writer's transaction)."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from ..cases.models import Case
from ..evidence.models import Bookmark, Clip, Device, Note, Officer, Recording, Tag
from . import index
from .models import SearchEntry


@receiver(post_save, sender=Recording)
def _recording_saved(sender, instance, raw=False, **kw):
    if not raw:
        index.reindex(instance.pk, (index.METADATA,))


@receiver(post_save, sender=Clip)
def _clip_saved(sender, instance, raw=False, **kw):
    if not raw:
        index.refresh_entries(instance.recording_id)


@receiver(post_save, sender=Officer)
def _officer_saved(sender, instance, raw=False, **kw):
    if not raw:  # the "officer" sort key (one UPDATE, not a reindex)
        SearchEntry.objects.filter(officer_id=instance.pk).exclude(officer_name=instance.name[:100]) \
            .update(officer_name=instance.name[:100])


@receiver(post_save, sender=Device)
def _device_saved(sender, instance, raw=False, **kw):
    if not raw:
        SearchEntry.objects.filter(device_id=instance.pk).exclude(device_serial=instance.serial) \
            .update(device_serial=instance.serial)


@receiver(post_save, sender=Bookmark)
def _bookmark_saved(sender, instance, raw=False, **kw):
    if not raw:
        index.reindex(instance.recording_id, (index.METADATA,))


@receiver(post_save, sender=Note)
def _note_saved(sender, instance, raw=False, **kw):
    if not raw:
        index.reindex(instance.recording_id, (index.NOTES,))


@receiver(post_save, sender=Tag)
@receiver(post_delete, sender=Tag)
def _tag_changed(sender, instance, **kw):
    index.reindex(instance.recording_id, (index.TAGS,))


@receiver(m2m_changed, sender=Recording.categories.through)
def _categories_changed(sender, instance, action, reverse, pk_set, **kw):
    if action.startswith("post_"):
        ids = list(pk_set or []) if reverse else [instance.pk]  # reverse: instance is a Category
        for rid in ids:
            index.reindex(rid, (index.METADATA,))


@receiver(m2m_changed, sender=Case.recordings.through)
def _case_recordings_changed(sender, instance, action, reverse, pk_set, **kw):
    if action.startswith("post_"):
        ids = [instance.pk] if reverse else list(pk_set or [])
        for rid in ids:
            index.reindex(rid, (index.METADATA,))
