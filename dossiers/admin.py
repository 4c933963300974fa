"""Administration of centres, vehicles, holders and dossiers, for staff.

A dossier's state, its centre, its agent and its clock change only through dossiers.transitions,
which writes the audit trail: here they are read-only, and dossiers, documents and events are never
added or deleted by hand.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from dossiers.models import (
    Cert,
    Document,
    Dossier,
    DossierEvent,
    Holder,
    Payment,
    Sale,
    TitleMention,
    Vehicle,
)


@admin.register(Cert)
class CertAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "city", "daily_capacity", "department_count", "active")
    list_editable = ("daily_capacity", "active")
    list_filter = ("active",)
    search_fields = ("code", "name", "city")
    ordering = ("code",)

    @admin.display(description=_("départements"))
    def department_count(self, obj: Cert) -> int:
        return len(obj.departments or [])


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = (
        "vin",
        "plate",
        "make",
        "commercial_name",
        "genre",
        "energy",
        "fiscal_power",
        "created_at",
    )
    list_filter = ("genre", "energy")
    search_fields = ("vin", "plate", "make", "commercial_name")
    readonly_fields = ("created_at",)


@admin.register(Holder)
class HolderAdmin(admin.ModelAdmin):
    list_display = ("display_name", "holder_kind", "postcode", "city", "department")
    list_filter = ("holder_kind", "department")
    search_fields = ("last_name", "first_names", "company_name", "siret", "email", "postcode", "city")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = ("kind", "original_name", "content_type", "size", "uploaded_by", "created_at")


class DossierEventInline(ReadOnlyInline):
    model = DossierEvent
    fields = ("created_at", "action", "from_state", "to_state", "actor", "actor_role", "reason")


class SaleInline(ReadOnlyInline):
    model = Sale
    fk_name = "dossier"
    fields = ("sold_at", "mileage_km", "code_de_cession")


class TitleMentionInline(ReadOnlyInline):
    # Written by dossiers.services.title_mentions_set only.
    model = TitleMention
    fields = ("position", "text")


class PaymentInline(ReadOnlyInline):
    # Written by dossiers.services.payment_record only (the payment service).
    model = Payment
    fields = ("paid_at", "amount", "provider", "provider_reference")


# Fields written by the workflow services only: they stay visible, never editable.
WORKFLOW_FIELDS = (
    "reference",
    "state",
    "cert",
    "claimed_by",
    "due_at",
    "filed_by",
    "y1",
    "y2",
    "y3",
    "y4",
    "y5",
    "y6",
    "created_at",
    "updated_at",
    "submitted_at",
    "queued_at",
    "review_started_at",
    "decided_at",
    "issued_at",
    "closed_at",
)


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin):
    list_display = ("reference", "procedure", "state", "cert", "applicant", "organisation", "created_at")
    list_filter = ("state", "procedure", "cert")
    list_select_related = ("cert", "applicant", "organisation")
    search_fields = (
        "reference",
        "vehicle__vin",
        "vehicle__plate",
        "holder__last_name",
        "holder__company_name",
    )
    date_hierarchy = "created_at"
    readonly_fields = WORKFLOW_FIELDS
    raw_id_fields = ("applicant", "organisation", "vehicle", "holder")
    inlines = [SaleInline, TitleMentionInline, PaymentInline, DocumentInline, DossierEventInline]
    fieldsets = (
        (None, {"fields": ("reference", "procedure", "state", "priority")}),
        (_("Titre"), {"fields": ("holder_is_owner", "validity_until", "duplicate_reason")}),
        (_("Parties"), {"fields": ("applicant", "filed_by", "organisation", "vehicle", "holder")}),
        (_("Instruction"), {"fields": ("cert", "claimed_by", "due_at")}),
        (_("Taxes"), {"fields": ("y1", "y2", "y3", "y4", "y5", "y6")}),
        (
            _("Dates"),
            {
                "fields": (
                    "created_at",
                    "updated_at",
                    "submitted_at",
                    "queued_at",
                    "review_started_at",
                    "decided_at",
                    "issued_at",
                    "closed_at",
                )
            },
        ),
    )

    def has_add_permission(self, request) -> bool:
        # A dossier is born through dossiers.services.dossier_create (reference, audit event).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its audit trail protects every dossier; deleting one is never the fix.
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("dossier", "kind", "original_name", "content_type", "size", "created_at")
    list_filter = ("kind", "content_type")
    list_select_related = ("dossier",)
    search_fields = ("dossier__reference", "sha256", "original_name")
    readonly_fields = ("dossier", "file", "sha256", "size", "content_type", "uploaded_by", "created_at")

    def has_add_permission(self, request) -> bool:
        # Documents are attached through dossiers.documents.document_attach (type detection, hash).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DossierEvent)
class DossierEventAdmin(admin.ModelAdmin):
    """The audit trail: visible to staff, never written by hand."""

    list_display = ("created_at", "dossier", "action", "from_state", "to_state", "actor", "actor_role")
    list_filter = ("action", "to_state", "actor_role")
    list_select_related = ("dossier", "actor")
    search_fields = ("dossier__reference", "actor__email", "reason")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
