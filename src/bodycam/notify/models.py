"""Who opted out of which notification, and which notifications went out (so each event is
mailed once: the sweep runs again and again)."""

from django.conf import settings
from django.db import models


class OptOut(models.Model):
    """``user`` does not want mails of ``kind`` (notify.kinds.KINDS). No row: they do."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_opt_outs")
    kind = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notify_optout_unique")]


class Sent(models.Model):
    """One notification to one person about one event (``key``). Claimed (``sending``) before
    the mail goes out, so two sweeps never send it twice; then ``sent`` or ``refused`` (the
    server refused the recipient). Not evidence: it names no item."""

    class Outcome(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        REFUSED = "refused"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=200)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SENDING)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "key"], name="notify_sent_unique")]
