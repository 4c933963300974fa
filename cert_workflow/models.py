"""What happens to a dossier once submitted: check results, decisions, routing, complements, figures.

Tables and invariants only; the work is in the subpackages (checks/, routing/, review/, documents/,
supervision/, stats/) and sweeps.py.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossiers.models import VEHICLE_FIELDS, Cert, Dossier, Procedure, vehicle_field_label
from dossiers.models import DocumentKind as UploadKind


class Outcome(models.TextChoices):
    PASSED = "passed", _("Conforme")
    WARNING = "warning", _("À vérifier")
    FAILED = "failed", _("Non conforme")


class Risk(models.TextChoices):
    LOW = "low", _("Faible")
    MEDIUM = "medium", _("Moyen")
    HIGH = "high", _("Élevé")


class CheckResult(models.Model):
    """The latest result of one automatic check on one dossier (a re-run replaces it)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="check_results")
    code = models.CharField(_("contrôle"), max_length=40)
    outcome = models.CharField(_("résultat"), max_length=10, choices=Outcome.choices)
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("résultat de contrôle")
        verbose_name_plural = _("résultats de contrôle")
        constraints = [models.UniqueConstraint(fields=["dossier", "code"], name="check_result_once")]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.code}: {self.outcome}"


# At module level so that the pure check rules can name the routes without the model.
class AssessmentRoute(models.TextChoices):
    STRAIGHT_THROUGH = "straight_through", _("Accepté sans instruction")
    SAMPLED = "sampled", _("Tiré au sort pour instruction")
    REVIEW = "review", _("Instruction nécessaire")


class Assessment(models.Model):
    """The outcome of the automatic checks: risk level, and whether a human must look (with the draw)."""

    Route = AssessmentRoute

    dossier = models.OneToOneField(Dossier, on_delete=models.PROTECT, related_name="assessment")
    risk = models.CharField(_("risque"), max_length=10, choices=Risk.choices)
    route = models.CharField(_("suite"), max_length=20, choices=Route.choices)
    straight_through_enabled = models.BooleanField(default=False)
    sampling_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    sample_draw = models.FloatField(null=True, blank=True)
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("évaluation automatique")
        verbose_name_plural = _("évaluations automatiques")

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.risk} {self.route}"


class StraightThroughRule(models.Model):
    """Per procedure, set by supervisors: are low-risk dossiers approved without a human?"""

    procedure = models.CharField(_("démarche"), max_length=30, choices=Procedure.choices, unique=True)
    enabled = models.BooleanField(_("acceptation automatique des dossiers à faible risque"), default=False)
    sampling_rate = models.DecimalField(
        _("taux d'échantillonnage"),
        max_digits=5,
        decimal_places=4,
        default=0.05,
        help_text=_("Part des dossiers à faible risque envoyée quand même en instruction (0,05 = 5 %)."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("règle d'acceptation automatique")
        verbose_name_plural = _("règles d'acceptation automatique")
        constraints = [
            models.CheckConstraint(
                condition=Q(sampling_rate__gte=0) & Q(sampling_rate__lte=1),
                name="sampling_rate_is_a_share",
            )
        ]

    def __str__(self) -> str:
        return self.get_procedure_display()


class RoutingDecision(models.Model):
    """Why a dossier went to a centre: the projected waits seen at that moment, and the rule applied."""

    class Kind(models.TextChoices):
        ROUTE = "route", _("Orientation initiale")
        REBALANCE = "rebalance", _("Rééquilibrage automatique")
        MANUAL = "manual", _("Déplacement par un superviseur")
        PAUSE = "pause", _("Centre suspendu")

    # Written 2,000 at a time by routing and read per dossier (routing_dossier_idx): no index on
    # the centres (nine values) nor on the supervisor.
    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="routing_decisions", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_cert = models.ForeignKey(
        Cert, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    to_cert = models.ForeignKey(Cert, on_delete=models.PROTECT, related_name="+", db_index=False)
    home_cert = models.ForeignKey(
        Cert, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=40)
    projected_waits = models.JSONField(default=dict)  # {cert code: days}
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("décision d'orientation")
        verbose_name_plural = _("décisions d'orientation")
        indexes = [models.Index(fields=["dossier", "created_at"], name="routing_dossier_idx")]

    def __str__(self) -> str:
        return f"{self.dossier_id} -> {self.to_cert_id} ({self.reason})"


# What a complement request may ask for: a kind of document to upload, or a vehicle or holder field
# to correct (docs/domain/FIELDS.md names, labelled with their certificate code). A fixed list, so the codes are
# the choices of ComplementItem.code; people only ever see the French labels.
COMPLEMENT_VEHICLE_FIELDS = {name: vehicle_field_label(name) for name in VEHICLE_FIELDS}
COMPLEMENT_HOLDER_FIELDS = {
    "holder_kind": _("Type de titulaire"),
    "last_name": _("C.1 — Nom"),
    "first_names": _("C.1 — Prénoms"),
    "birth_date": _("Date de naissance"),
    "company_name": _("C.1 — Raison sociale"),
    "siret": _("SIRET"),
    "email": _("Courriel"),
    "address_line": _("C.3 — Adresse"),
    "postcode": _("C.3 — Code postal"),
    "city": _("C.3 — Commune"),
    "department": _("Département"),
}
COMPLEMENT_ITEM_CHOICES = [
    *UploadKind.choices,
    *COMPLEMENT_VEHICLE_FIELDS.items(),
    *COMPLEMENT_HOLDER_FIELDS.items(),
]


class ComplementRequest(models.Model):
    """An agent's request for missing documents or fields (its ComplementItem rows); the dossier
    waits for the applicant."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="complement_requests")
    cert = models.ForeignKey(Cert, on_delete=models.PROTECT, related_name="+")
    message = models.TextField(_("message"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(_("date limite"))
    answered_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("demande de complément")
        verbose_name_plural = _("demandes de complément")
        constraints = [
            models.UniqueConstraint(
                fields=["dossier"],
                condition=Q(answered_at__isnull=True, expired_at__isnull=True),
                name="one_open_complement_per_dossier",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} complement until {self.deadline:%Y-%m-%d}"


class ComplementItem(models.Model):
    """One thing a complement request asks for: a document to upload or a field to correct."""

    request = models.ForeignKey(ComplementRequest, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("pièce ou champ demandé"), max_length=40, choices=COMPLEMENT_ITEM_CHOICES)

    class Meta:
        verbose_name = _("élément demandé")
        verbose_name_plural = _("éléments demandés")
        # In the order the agent asked (the order of the form, or of the API call).
        ordering = ["request", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "code"], name="complement_item_once_per_request")
        ]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.code}"


class SweepAction(models.Model):
    """What a periodic sweep or job did, and to which dossier (the record of every automatic action)."""

    kind = models.CharField(max_length=40)
    dossier = models.ForeignKey(Dossier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("action automatique")
        verbose_name_plural = _("actions automatiques")

    def __str__(self) -> str:
        return f"{self.kind} {self.dossier_id}"


class StatsSnapshot(models.Model):
    """Public figures computed by a periodic task: read by /statistiques/, never computed live."""

    computed_at = models.DateTimeField(default=timezone.now, db_index=True)
    payload = models.JSONField()

    class Meta:
        verbose_name = _("instantané statistique")
        verbose_name_plural = _("instantanés statistiques")
        get_latest_by = "computed_at"

    def __str__(self) -> str:
        return f"stats {self.computed_at:%Y-%m-%d %H:%M}"


class DecisionDay(models.Model):
    """The decisions of one closed day (local date) per centre, as the audit records them: the
    supervision pages read these rows instead of the audit for every day but the last ones.
    Written by cert_workflow.stats.decision_days (on each refresh of the public figures)."""

    day = models.DateField(unique=True)
    # Decisions per centre id (as a string; "" for dossiers with no centre), only non-zero ones.
    counts = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("décisions du jour")
        verbose_name_plural = _("décisions par jour")

    def __str__(self) -> str:
        return f"decisions {self.day:%Y-%m-%d}"


class DocumentKind(models.TextChoices):
    CERTIFICATE = "certificate", _("Certificat d'immatriculation")
    CPI = "cpi", _("Certificat provisoire d'immatriculation (CPI)")
    RECEIPT = "receipt", _("Accusé de dépôt")
    REJECTION_LETTER = "rejection_letter", _("Décision de refus")
    COMPLEMENT_LETTER = "complement_letter", _("Demande de complément")


class IssuedDocument(models.Model):
    """A document the portal issues for a dossier, and its rendered PDF once the pdf queue made it.

    The row is created (pending) in the transaction of the decision, so a lost rendering task is
    found again; the PDF is rendered outside any transaction and stored through the storage API.
    """

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="issued_documents")
    kind = models.CharField(_("document"), max_length=20, choices=DocumentKind.choices)
    complement_request = models.OneToOneField(
        ComplementRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="letter"
    )
    serial = models.CharField(_("numéro de formule"), max_length=20, unique=True)
    # The values printed on the document, frozen at issue: a later change of the dossier never
    # changes a document already issued.
    data = models.JSONField(default=dict)
    issued_at = models.DateTimeField(_("délivré le"), default=timezone.now)
    valid_until = models.DateTimeField(_("valable jusqu'au"), null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    # A CPI whose dossier ended without a certificate (refused or abandoned) stops being valid when
    # the dossier closed: it is withdrawn, never superseded (nothing replaces it).
    withdrawn_at = models.DateTimeField(_("retiré le"), null=True, blank=True)
    file = models.FileField(upload_to="issued/%Y/%m/", max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    render_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("document délivré")
        verbose_name_plural = _("documents délivrés")
        constraints = [
            # One certificate, one CPI, one receipt, one rejection per dossier: a rerun finds it.
            models.UniqueConstraint(
                fields=["dossier", "kind"],
                condition=~Q(kind="complement_letter"),
                name="issued_once_per_dossier",
            ),
            models.CheckConstraint(
                condition=~Q(kind="complement_letter") | Q(complement_request__isnull=False),
                name="complement_letter_has_request",
            ),
            models.CheckConstraint(
                condition=Q(superseded_at__isnull=True) | Q(withdrawn_at__isnull=True),
                name="issued_superseded_or_withdrawn",
            ),
        ]
        indexes = [
            models.Index(
                fields=["issued_at"], name="issued_pending_idx", condition=Q(rendered_at__isnull=True)
            ),
            # The CPIs still current: few (those of open dossiers), read by the sweep every minute.
            models.Index(
                fields=["dossier"],
                name="issued_current_cpi_idx",
                condition=Q(kind="cpi", superseded_at__isnull=True, withdrawn_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial}"
