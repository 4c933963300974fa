"""A payment attempt: where a payer is in a provider's checkout. State, not money: the money
received is dossiers.Payment, written only by dossiers.services.payment_record."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dossiers.models import Dossier


class PaymentAttempt(models.Model):
    class Status(models.TextChoices):
        STARTED = "started", _("En cours")
        SUCCEEDED = "succeeded", _("Payé")
        REFUSED = "refused", _("Refusé")
        ABANDONED = "abandoned", _("Abandonné")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="payment_attempts")
    amount = models.DecimalField(_("montant"), max_digits=9, decimal_places=2)
    provider = models.CharField(_("prestataire"), max_length=40)
    # The provider's id of its checkout session: notifications name it.
    session_id = models.CharField(_("session du prestataire"), max_length=100)
    status = models.CharField(_("état"), max_length=20, choices=Status.choices, default=Status.STARTED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Where the provider sends the payer, and where the portal sends them after (a local path).
    redirect_url = models.CharField(max_length=500)
    return_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("tentative de paiement")
        verbose_name_plural = _("tentatives de paiement")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "session_id"], name="attempt_provider_session_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="attempt_amount_positive"),
            # A new attempt supersedes the one in progress (payments.services.payment_start).
            models.UniqueConstraint(
                fields=["dossier"], condition=Q(status="started"), name="attempt_one_started_per_dossier"
            ),
        ]
        indexes = [
            # The sweep's query: attempts still started, oldest first.
            models.Index(fields=["created_at"], condition=Q(status="started"), name="attempt_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.amount} {self.provider}:{self.session_id} ({self.status})"
