"""Webhook endpoints of dealer organisations and the deliveries owed to them (an outbox)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation, User


class WebhookEndpoint(models.Model):
    """An HTTPS URL of an organisation that receives its dossiers' status changes.

    The secret is stored as is: it must be read back to sign every delivery (a hash would not do).
    It is shown once, at creation, and never again on any page.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("adresse (URL)"), max_length=500)
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(_("actif"), default=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    deactivated_at = models.DateTimeField(_("désactivé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("point de réception de webhooks")
        verbose_name_plural = _("points de réception de webhooks")
        indexes = [
            models.Index(fields=["organisation"], condition=Q(active=True), name="webhook_endpoint_active"),
        ]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("En attente")
    DELIVERED = "delivered", _("Remis")
    FAILED = "failed", _("Échec définitif")


class EventType(models.TextChoices):
    DOSSIER_STATUS_CHANGED = "dossier.status_changed", _("Changement de statut d'un dossier")
    BATCH_STATUS_CHANGED = "batch.status_changed", _("Changement de statut d'un lot")


class WebhookDelivery(models.Model):
    """One event owed to one endpoint, written in the transaction of the change, sent after it."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(_("événement"), max_length=50, choices=EventType.choices)
    payload = models.JSONField()
    state = models.CharField(
        _("état"), max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("dernière tentative"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("dernier code HTTP"), null=True, blank=True)
    last_error = models.CharField(_("dernière erreur"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    delivered_at = models.DateTimeField(_("remise le"), null=True, blank=True)

    class Meta:
        verbose_name = _("envoi de webhook")
        verbose_name_plural = _("envois de webhooks")
        indexes = [
            # The retry sweep's query: pending deliveries that are due.
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"), name="webhook_delivery_due"
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"
