"""A dealer's batch of new vehicles: one row per vehicle as received, its outcome, its dossier.

A batch is written by batches.services only: received (rows stored as sent), processing (rows
checked and turned into submitted dossiers, chunk by chunk, in Celery), done (every row checked and
every accepted vehicle's CPI rendered).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BatchState(models.TextChoices):
    RECEIVED = "received", _("Reçu")
    PROCESSING = "processing", _("En cours de traitement")
    DONE = "done", _("Terminé")


class BatchSource(models.TextChoices):
    JSON = "json", _("API (JSON)")
    CSV = "csv", _("Fichier CSV")
    XLSX = "xlsx", _("Fichier Excel (XLSX)")


class Batch(models.Model):
    organisation = models.ForeignKey(
        "portal.Organisation",
        verbose_name=_("professionnel"),
        on_delete=models.PROTECT,
        related_name="batches",
        db_index=False,  # batch_org_idx
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("déposé par"), on_delete=models.PROTECT, related_name="+"
    )
    # The client's Idempotency-Key, unique per organisation; the content's hash tells a replay (same
    # content: the same batch) from a mistake (other content under the same key: 409).
    idempotency_key = models.CharField(_("clé d'idempotence"), max_length=100)
    content_sha256 = models.CharField(max_length=64)
    source = models.CharField(_("source"), max_length=10, choices=BatchSource.choices)
    filename = models.CharField(_("fichier"), max_length=200, blank=True)
    state = models.CharField(
        _("état"), max_length=20, choices=BatchState.choices, default=BatchState.RECEIVED
    )
    received = models.PositiveIntegerField(_("lignes reçues"))
    valid = models.PositiveIntegerField(_("lignes acceptées"), default=0)
    rejected = models.PositiveIntegerField(_("lignes refusées"), default=0)
    created_at = models.DateTimeField(_("reçu le"), default=timezone.now)
    started_at = models.DateTimeField(_("traitement commencé le"), null=True, blank=True)
    processed_at = models.DateTimeField(_("lignes vérifiées le"), null=True, blank=True)
    done_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    # The one acknowledgement of the batch (rows accepted and refused), rendered once the batch is done.
    acknowledgement = models.FileField(_("accusé de dépôt"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"], name="batch_idempotency_key_once"
            ),
            models.CheckConstraint(
                condition=Q(valid__lte=models.F("received") - models.F("rejected")),
                name="batch_counts_add_up",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="batch_org_idx")]

    def __str__(self) -> str:
        return f"lot {self.pk} ({self.received} lignes)"


class RowStatus(models.TextChoices):
    PENDING = "pending", _("À vérifier")
    ACCEPTED = "accepted", _("Accepté")
    REJECTED = "rejected", _("Refusé")


class BatchRow(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rows", db_index=False)
    # The row's number as the dealer sees it: its line in the file (the header is line 1), its
    # position (from 1) in a JSON list.
    row_number = models.PositiveIntegerField(_("ligne"))
    # The row as received: {"vehicle": {...}, "holder": {...}, facts...}; `columns` maps each field
    # (vehicle.vin...) to the file's own column header, so that an error names the dealer's column.
    data = models.JSONField()
    columns = models.JSONField(default=dict, blank=True)
    # The VIN as typed, upper case without spaces: a repeat within the batch is found on it.
    vin = models.CharField(max_length=40, blank=True)
    # The number of the batch's first row with the same VIN, when this row repeats it: known when
    # the batch is received, so that each chunk refuses its repeats without looking at the others.
    first_row = models.PositiveIntegerField(null=True, blank=True)
    # The reference of the row's dossier, reserved with the batch when it was received (one per row,
    # in row order; a refused row's stays unused), so that no chunk holds the reference counter,
    # and every other filing waiting on it, while it writes. Empty for a batch received before.
    reference = models.CharField(max_length=20, blank=True)
    external_ref = models.CharField(_("référence interne"), max_length=60, blank=True)
    status = models.CharField(
        _("résultat"), max_length=10, choices=RowStatus.choices, default=RowStatus.PENDING
    )
    # [{"field", "column", "rule", "message", "expected", "value"}], empty unless rejected.
    errors = models.JSONField(default=list, blank=True)
    dossier = models.OneToOneField(
        "dossiers.Dossier", null=True, blank=True, on_delete=models.PROTECT, related_name="batch_row"
    )

    class Meta:
        verbose_name = _("ligne de lot")
        verbose_name_plural = _("lignes de lot")
        ordering = ["batch", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_number"], name="batch_row_once"),
            models.CheckConstraint(
                condition=Q(status="accepted", dossier__isnull=False) | ~Q(status="accepted"),
                name="batch_row_accepted_has_dossier",
            ),
        ]
        # The rows still to check: whether a batch has any left is asked after every chunk.
        indexes = [
            models.Index(fields=["batch"], condition=Q(status="pending"), name="batch_row_pending_idx")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_number} {self.status}"
