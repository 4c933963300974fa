"""What the tracking app records: the complement reminders sent, so that each is sent once."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cert_workflow.models import ComplementRequest


class ComplementReminder(models.Model):
    """The reminder mail of one complement request whose deadline came near: one row per request
    (the unique key is the claim), written before the mail leaves, so two sweeps mail once."""

    request = models.OneToOneField(ComplementRequest, on_delete=models.PROTECT, related_name="reminder")
    sent_at = models.DateTimeField(_("envoyé le"), default=timezone.now)

    class Meta:
        verbose_name = _("rappel de complément")
        verbose_name_plural = _("rappels de complément")

    def __str__(self) -> str:
        return f"reminder {self.request_id} {self.sent_at:%Y-%m-%d}"
