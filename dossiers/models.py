"""What a dossier is. Tables and their invariants only; workflow lives in states.py and services.py.

Field names follow docs/domain/FIELDS.md: the same names in models, API, batch files and PDFs.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class Procedure(models.TextChoices):
    FIRST_REGISTRATION = "first_registration", _("Première immatriculation d'un véhicule neuf")
    CHANGE_OF_OWNER = "change_of_owner", _("Changement de titulaire")
    SALE_DECLARATION = "sale_declaration", _("Déclaration de cession")
    CHANGE_OF_ADDRESS = "change_of_address", _("Changement d'adresse")
    DUPLICATE = "duplicate", _("Duplicata")
    CORRECTION = "correction", _("Correction du certificat")
    IMPORT = "import", _("Véhicule importé")


class State(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    SUBMITTED = "submitted", _("Déposé")
    QUEUED = "queued", _("En attente d'instruction")
    IN_REVIEW = "in_review", _("En cours d'instruction")
    AWAITING_COMPLEMENT = "awaiting_complement", _("Complément demandé")
    APPROVED = "approved", _("Accepté")
    ISSUED = "issued", _("Certificat délivré")
    REJECTED = "rejected", _("Refusé")
    WITHDRAWN = "withdrawn", _("Abandonné")


FINAL_STATES = (State.ISSUED, State.REJECTED, State.WITHDRAWN)
OPEN_STATES = tuple(s for s in State.values if s not in FINAL_STATES)


class DocumentKind(models.TextChoices):
    IDENTITY = "identity", _("Pièce d'identité")
    PROOF_OF_ADDRESS = "proof_of_address", _("Justificatif de domicile")
    PREVIOUS_CERTIFICATE = "previous_certificate", _("Ancien certificat barré")
    SALE_CERTIFICATE = "sale_certificate", _("Certificat de cession (cerfa 15776)")
    TECHNICAL_INSPECTION = "technical_inspection", _("Contrôle technique")
    POLICE_REPORT = "police_report", _("Récépissé de déclaration de vol")
    COC = "coc", _("Certificat de conformité")
    INVOICE = "invoice", _("Facture")
    MANDATE = "mandate", _("Mandat (cerfa 13757)")
    INSURANCE = "insurance", _("Attestation d'assurance")
    DRIVING_LICENCE = "driving_licence", _("Permis de conduire")
    CUSTOMS_CLEARANCE = "customs_clearance", _("Quitus fiscal ou 846A")
    FOREIGN_TITLE = "foreign_title", _("Titre étranger")
    OTHER = "other", _("Autre")


class Cert(models.Model):
    """A virtual prefecture (centre d'expertise et de ressources des titres)."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("nom"), max_length=100)
    city = models.CharField(_("ville"), max_length=100)
    departments = models.JSONField(_("départements rattachés"), default=list)
    procedures = models.JSONField(_("démarches traitées"), default=list)
    daily_capacity = models.PositiveIntegerField(_("capacité journalière (dossiers)"), default=500)
    active = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("CERT")
        verbose_name_plural = _("CERT")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(daily_capacity__gt=0), name="cert_capacity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.city})"


class Vehicle(models.Model):
    """A vehicle of the register. Each certificate field's verbose name is its code on the
    certificate and its help text the French header of docs/domain/FIELDS.md, so that labels
    (« D.1 — Marque »), the API schema and batch headers all come from here."""

    vin = models.CharField("E", max_length=17, unique=True, help_text=_("VIN"))
    plate = models.CharField(
        "A", max_length=9, unique=True, null=True, blank=True, help_text=_("Immatriculation")
    )
    first_registration_date = models.DateField(
        "B", null=True, blank=True, help_text=_("Date de première immatriculation")
    )
    make = models.CharField("D.1", max_length=60, help_text=_("Marque"))
    type_variant_version = models.CharField(
        "D.2", max_length=60, blank=True, help_text=_("Type variante version")
    )
    cnit = models.CharField("D.2.1", max_length=15, blank=True, help_text=_("CNIT"))
    commercial_name = models.CharField("D.3", max_length=80, help_text=_("Dénomination commerciale"))
    max_mass_kg = models.PositiveIntegerField(
        "F.1", null=True, blank=True, help_text=_("Masse max techniquement admissible")
    )
    ptac_kg = models.PositiveIntegerField("F.2", null=True, blank=True, help_text=_("PTAC"))
    ptra_kg = models.PositiveIntegerField("F.3", null=True, blank=True, help_text=_("PTRA"))
    mass_kg = models.PositiveIntegerField("G", null=True, blank=True, help_text=_("Masse en service"))
    empty_mass_kg = models.PositiveIntegerField(
        "G.1", null=True, blank=True, help_text=_("Poids à vide national")
    )
    eu_category = models.CharField("J", max_length=5, blank=True, help_text=_("Catégorie CE"))
    genre = models.CharField("J.1", max_length=5, help_text=_("Genre national"))
    eu_body = models.CharField("J.2", max_length=5, blank=True, help_text=_("Carrosserie CE"))
    body = models.CharField("J.3", max_length=10, blank=True, help_text=_("Carrosserie nationale"))
    approval_number = models.CharField("K", max_length=40, blank=True, help_text=_("Numéro de réception"))
    displacement_cm3 = models.PositiveIntegerField("P.1", null=True, blank=True, help_text=_("Cylindrée"))
    power_kw = models.DecimalField(
        "P.2", max_digits=6, decimal_places=1, null=True, blank=True, help_text=_("Puissance nette max")
    )
    energy = models.CharField("P.3", max_length=2, help_text=_("Énergie"))
    fiscal_power = models.PositiveSmallIntegerField("P.6", help_text=_("Puissance administrative"))
    seats = models.PositiveSmallIntegerField("S.1", null=True, blank=True, help_text=_("Places assises"))
    standing_places = models.PositiveSmallIntegerField(
        "S.2", null=True, blank=True, help_text=_("Places debout")
    )
    co2_g_km = models.PositiveSmallIntegerField("V.7", null=True, blank=True, help_text=_("CO2"))
    euro_class = models.CharField("V.9", max_length=20, blank=True, help_text=_("Classe environnementale"))
    noise_db = models.PositiveSmallIntegerField(
        "U.1", null=True, blank=True, help_text=_("Niveau sonore à l'arrêt")
    )
    noise_rpm = models.PositiveIntegerField(
        "U.2", null=True, blank=True, help_text=_("Régime moteur du niveau sonore")
    )
    technical_inspection_date = models.DateField(
        "X.1", null=True, blank=True, help_text=_("Date du contrôle technique")
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("véhicule")
        verbose_name_plural = _("véhicules")

    def __str__(self) -> str:
        return f"{self.make} {self.commercial_name} ({self.plate or self.vin})"


# The vehicle's certificate fields, in the model's order: what the API, the forms and batch rows
# accept and what the certificate prints. Derived here once, read by every list of vehicle fields.
VEHICLE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in Vehicle._meta.concrete_fields if f.name not in ("id", "created_at")
)


def vehicle_field_label(name: str) -> str:
    """A vehicle field as people read it: its certificate code and French name (« D.1 — Marque »)."""
    field = Vehicle._meta.get_field(name)
    return format_lazy("{} — {}", field.verbose_name, field.help_text)


class HolderKind(models.TextChoices):
    PERSON = "person", _("Personne physique")
    COMPANY = "company", _("Personne morale")


class Holder(models.Model):
    """The titulaire (C.1, C.3): a natural person or a company."""

    holder_kind = models.CharField(_("type de titulaire"), max_length=10, choices=HolderKind.choices)
    last_name = models.CharField(_("nom"), max_length=100, blank=True)
    first_names = models.CharField(_("prénoms"), max_length=150, blank=True)
    birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    company_name = models.CharField(_("raison sociale"), max_length=200, blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    email = models.EmailField(_("courriel"), blank=True)
    address_line = models.CharField(_("adresse"), max_length=200)
    postcode = models.CharField(_("code postal"), max_length=5)
    city = models.CharField(_("commune"), max_length=100)
    department = models.CharField(_("département"), max_length=3)

    class Meta:
        verbose_name = _("titulaire")
        verbose_name_plural = _("titulaires")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(holder_kind="person") & ~Q(last_name="")
                    | Q(holder_kind="company") & ~Q(company_name="") & ~Q(siret="")
                ),
                name="holder_identity_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.holder_kind == HolderKind.COMPANY:
            return self.company_name
        return f"{self.last_name.upper()} {self.first_names}".strip()


# The holder's fields as the applicant gives them (department is derived from the postcode when absent).
HOLDER_FIELDS: tuple[str, ...] = tuple(f.name for f in Holder._meta.concrete_fields if f.name != "id")


class DuplicateReason(models.TextChoices):
    LOSS = "loss", _("Perte")
    THEFT = "theft", _("Vol")
    DAMAGE = "damage", _("Détérioration")


class Dossier(models.Model):
    reference = models.CharField(_("référence"), max_length=20, unique=True)
    procedure = models.CharField(_("démarche"), max_length=30, choices=Procedure.choices)
    # Written only by dossiers.transitions and the claim statement of dossiers.claim.
    state = models.CharField(_("état"), max_length=30, choices=State.choices, default=State.DRAFT)
    # Indexed by dossier_applicant_idx and dossier_org_idx (Meta), not by a second FK index each:
    # every index is written again on each change of state.
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("demandeur"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers",
        db_index=False,
        help_text=_("Le compte usager à qui appartient la demande (vide pour un dépôt professionnel)."),
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("déposé par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        "portal.Organisation",
        verbose_name=_("professionnel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers",
        db_index=False,
    )
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="dossiers")
    holder = models.ForeignKey(Holder, on_delete=models.PROTECT, related_name="dossiers")
    cert = models.ForeignKey(
        Cert,
        verbose_name=_("CERT"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers",
    )
    priority = models.SmallIntegerField(_("priorité"), default=0)
    # Title facts. False for a leasing or a long-term rental: the certificate leaves out C.4a.
    holder_is_owner = models.BooleanField(_("le titulaire est propriétaire (C.4a)"), default=True)
    validity_until = models.DateField(_("fin de validité (H)"), null=True, blank=True)
    duplicate_reason = models.CharField(
        _("motif du duplicata"), max_length=10, choices=DuplicateReason.choices, blank=True
    )
    # A correction says what is wrong on the current certificate, in the holder's words, for the
    # agent to check against the title's evidence (never written onto a certificate as typed).
    correction_request = models.CharField(_("correction demandée"), max_length=500, blank=True)
    # A dealer's first registration (docs/domain/FIELDS.md, "Dealer batch row"): the sale's invoice,
    # the holder's mandate (cerfa 13757) and the dealer's own reference of the vehicle.
    invoice_date = models.DateField(_("date de facture"), null=True, blank=True)
    mandate_reference = models.CharField(
        _("référence du mandat"), max_length=60, blank=True, default="", db_default=""
    )
    external_ref = models.CharField(
        _("référence interne"), max_length=60, blank=True, default="", db_default=""
    )
    # Filed in a batch: the batch's one acknowledgement replaces each dossier's receipt.
    filed_in_batch = models.BooleanField(_("déposé dans un lot"), default=False, db_default=False)

    y1 = models.DecimalField("Y.1", max_digits=9, decimal_places=2, null=True, blank=True)
    y2 = models.DecimalField("Y.2", max_digits=9, decimal_places=2, null=True, blank=True)
    y3 = models.DecimalField("Y.3", max_digits=9, decimal_places=2, null=True, blank=True)
    y4 = models.DecimalField("Y.4", max_digits=9, decimal_places=2, null=True, blank=True)
    y5 = models.DecimalField("Y.5", max_digits=9, decimal_places=2, null=True, blank=True)
    y6 = models.DecimalField("Y.6", max_digits=9, decimal_places=2, null=True, blank=True)

    # The clock of the current state: who must act by when (see states.CLOCKS).
    due_at = models.DateTimeField(_("échéance"), null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("instructeur"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # the unique constraint dossier_one_review_per_agent is its index
    )

    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    submitted_at = models.DateTimeField(_("déposé le"), null=True, blank=True)
    queued_at = models.DateTimeField(_("mis en file le"), null=True, blank=True)
    review_started_at = models.DateTimeField(_("pris en instruction le"), null=True, blank=True)
    decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    issued_at = models.DateTimeField(_("délivré le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        constraints = [
            models.CheckConstraint(
                condition=Q(applicant__isnull=False) | Q(organisation__isnull=False),
                name="dossier_belongs_to_someone",
            ),
            # claimed_by is the agent reviewing the dossier now, so it is set in review only, and
            # an agent reviews one dossier at a time: a second claim (a double click) resumes the
            # first instead. The unique index also serves the "what am I reviewing" lookup.
            models.CheckConstraint(
                condition=Q(claimed_by__isnull=True) | Q(state="in_review"),
                name="dossier_claimed_only_in_review",
            ),
            models.UniqueConstraint(fields=["claimed_by"], name="dossier_one_review_per_agent"),
        ]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="dossier_applicant_idx"),
            models.Index(fields=["organisation", "-created_at"], name="dossier_org_idx"),
            models.Index(fields=["state", "due_at"], name="dossier_state_due_idx"),
            # The claim order (priority, age, then id to break ties), so a claim reads one entry.
            models.Index(
                fields=["cert", "-priority", "queued_at", "id"],
                name="dossier_queue_idx",
                condition=Q(state="queued"),
            ),
            # The queue in age order per centre: the oldest first (supervision's age percentiles,
            # moving a centre's oldest dossiers), whatever their priority.
            models.Index(
                fields=["cert", "queued_at", "id"],
                name="dossier_queue_age_idx",
                condition=Q(state="queued"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class Sale(models.Model):
    """The sale behind a change of owner or a sale declaration (cerfa 15776)."""

    dossier = models.OneToOneField(Dossier, on_delete=models.PROTECT, related_name="sale")
    # Null only for a sale migrated from the free-form data of old dossiers without a date: the
    # API requires it, and the sale_date check fails a dossier without it.
    sold_at = models.DateTimeField(_("date et heure de la cession"), null=True, blank=True)
    mileage_km = models.PositiveIntegerField(_("kilométrage"), null=True, blank=True)
    # Upper case without spaces or dashes (cleaning.sale_clean); the check says if it is well formed.
    code_de_cession = models.CharField(_("code de cession"), max_length=32, blank=True)
    # On a seller's sale declaration: the code generated by the server (register.code_de_cession_new),
    # valid until code_expires_at and used once, by the buyer's change of owner (code_used_by).
    code_expires_at = models.DateTimeField(_("code de cession valable jusqu'au"), null=True, blank=True)
    code_used_by = models.OneToOneField(
        "Dossier",
        verbose_name=_("code utilisé par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="code_source",
    )

    class Meta:
        verbose_name = _("cession")
        verbose_name_plural = _("cessions")

    def __str__(self) -> str:
        return (
            f"{self.dossier_id} sold {self.sold_at:%Y-%m-%d %H:%M}" if self.sold_at else str(self.dossier_id)
        )


class RegisteredTitle(models.Model):
    """The register: a title of a vehicle, its holder and its numéro de formule. One title per
    vehicle is current; it changes only when a certificate is issued (dossiers.register)."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="titles")
    # The holder's own row, never a dossier's: a dossier's changes reach the register only at issue.
    holder = models.ForeignKey(Holder, on_delete=models.PROTECT, related_name="+")
    # docs/domain/REFERENCE.md §2: 4-digit year + 2 letters + 5 digits (e.g. 2013BZ80335).
    formule_number = models.CharField(_("numéro de formule"), max_length=20, unique=True)
    issued_at = models.DateTimeField(_("délivré le"), default=timezone.now)
    current = models.BooleanField(_("titre en cours"), default=True)
    # Facts of the title, never the applicant's word: the register file's, then the issuing
    # dossier's (a dealer's for a new vehicle, the previous title's otherwise).
    holder_is_owner = models.BooleanField(_("le titulaire est propriétaire (C.4a)"), default=True)
    validity_until = models.DateField(_("fin de validité (H)"), null=True, blank=True)
    # The dossier whose certificate made this title; empty for a title loaded from the register file.
    dossier = models.OneToOneField(
        Dossier, null=True, blank=True, on_delete=models.PROTECT, related_name="registered_title"
    )

    class Meta:
        verbose_name = _("titre enregistré")
        verbose_name_plural = _("titres enregistrés")
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(current=True), name="registered_title_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.formule_number} ({self.vehicle_id})"


class TitleProofFailure(models.Model):
    """A title proof (plate with formule number or code de cession) the register refused, kept to
    limit guessing: register.title_proof_limited refuses further tries past TITLE_PROOF_MAX_FAILURES an hour,
    by the same user or on the same plate."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    plate = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "created_at"], name="title_failure_user_idx"),
            models.Index(fields=["plate", "created_at"], name="title_failure_plate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.plate} {self.created_at:%Y-%m-%d %H:%M}"


class TitleMention(models.Model):
    """A mention Z.1–Z.4 of the title, written by the register or an agent, never by the applicant."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="mentions")
    position = models.PositiveSmallIntegerField(_("position (Z.1 à Z.4)"))
    text = models.CharField(_("mention"), max_length=100)

    class Meta:
        verbose_name = _("mention du certificat")
        verbose_name_plural = _("mentions du certificat")
        ordering = ["dossier", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "position"], name="mention_once_per_position"),
            models.CheckConstraint(
                condition=Q(position__gte=1, position__lte=4), name="mention_position_z1_z4"
            ),
        ]

    def __str__(self) -> str:
        return f"Z.{self.position} {self.text}"


class Payment(models.Model):
    """A payment of the fees, recorded only by services.payment_record (the payment service)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("montant"), max_digits=9, decimal_places=2)
    provider = models.CharField(_("prestataire"), max_length=40)
    # The provider's own id of the payment: a notification received twice records one payment.
    provider_reference = models.CharField(_("référence du prestataire"), max_length=100, unique=True)
    paid_at = models.DateTimeField(_("payé le"))

    class Meta:
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.amount} ({self.provider})"


def document_upload_to(instance: "Document", filename: str) -> str:
    # Never trust the uploaded name for the path: the hash names the file.
    return f"documents/{instance.sha256[:2]}/{instance.sha256}"


class Document(models.Model):
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("type de pièce"), max_length=30, choices=DocumentKind.choices)
    file = models.FileField(_("fichier"), upload_to=document_upload_to, max_length=200)
    original_name = models.CharField(_("nom du fichier"), max_length=200, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("taille (octets)"))
    content_type = models.CharField(_("type détecté"), max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("pièce justificative")
        verbose_name_plural = _("pièces justificatives")
        constraints = [
            models.UniqueConstraint(fields=["dossier", "kind", "sha256"], name="document_once_per_dossier"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.dossier.reference}"


class AppendOnlyError(Exception):
    """An audit row was about to be changed or deleted."""


class DossierEvent(models.Model):
    """Append-only audit of a dossier: every transition and every decision that touched it."""

    # Indexed by event_dossier_idx (Meta).
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="events", db_index=False)
    # No index of its own: nothing looks events up by actor (users are never deleted, PROTECT), and
    # every claim and transition would write it; event_human_idx serves "recent human events".
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_role = models.CharField(max_length=20)
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=30, blank=True)
    to_state = models.CharField(max_length=30, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("événements")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["dossier", "created_at"], name="event_dossier_idx"),
            # What people did lately (supervision's decisions and active reviewers): the time range
            # of the human part of the audit, without the system's routing events around it.
            models.Index(fields=["created_at"], name="event_human_idx", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.action} {self.from_state}->{self.to_state}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("dossier events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("dossier events are append-only")


class Counter(models.Model):
    """Named monotonic counters (dossier references, the national plate series).

    Incremented with a single UPDATE ... RETURNING, so concurrent callers never get the same value.
    """

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
