"""Reads of the citizen's filings, each scoped to its user: another user's filing is not found."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from cert_workflow.checks.rules import CT_PROCEDURES, REQUIRED_DOCUMENTS, required_documents
from dossiers.models import Document, DocumentKind, Dossier, Procedure, State
from filing.models import FilingDraft
from filing.steps import WEB_PROCEDURES
from portal.models import Role, User


def drafts_for_user(*, user: User) -> QuerySet[FilingDraft]:
    """The user's unfinished filings (no dossier yet, or a dossier still a draft), latest first."""
    if not user.is_authenticated or user.role != Role.CITIZEN:
        return FilingDraft.objects.none()
    return (
        FilingDraft.objects.filter(user=user)
        .filter(Q(dossier__isnull=True) | Q(dossier__state=State.DRAFT))
        .select_related("dossier")
        .order_by("-updated_at", "-id")
    )


def dossier_drafts_unfiled(*, user: User) -> QuerySet[Dossier]:
    """The citizen's draft dossiers made elsewhere (the API, the demo data) that a guided form can
    take up at its documents step, latest first."""
    if not user.is_authenticated or user.role != Role.CITIZEN:
        return Dossier.objects.none()
    return (
        Dossier.objects.filter(
            applicant=user, state=State.DRAFT, filing_draft__isnull=True, procedure__in=WEB_PROCEDURES
        )
        .select_related("vehicle")
        .order_by("-created_at", "-id")
    )


def draft_get(*, user: User, pk: int) -> FilingDraft:
    """One filing of `user` (FilingDraft.DoesNotExist otherwise: a 404)."""
    return FilingDraft.objects.select_related("dossier__vehicle", "dossier__holder").get(pk=pk, user=user)


def documents_of(*, dossier: Dossier) -> QuerySet[Document]:
    return Document.objects.filter(dossier=dossier).order_by("created_at", "id")


def document_for_user(*, user: User, pk: int) -> Document:
    """A document of one of the citizen's own dossiers (Document.DoesNotExist otherwise: a 404)."""
    if not user.is_authenticated or user.role != Role.CITIZEN:
        raise Document.DoesNotExist
    return Document.objects.select_related("dossier").get(pk=pk, dossier__applicant=user)


def documents_required(*, dossier: Dossier) -> list[str]:
    """The document kinds the automatic checks will look for on this dossier, in label order."""
    # The checks own the list of pieces per procedure; the form asks for exactly those.
    kinds = required_documents(
        procedure=dossier.procedure,
        by_professional=dossier.organisation_id is not None,
        duplicate_reason=dossier.duplicate_reason,
        first_registration_date=dossier.vehicle.first_registration_date,
        on=timezone.localdate(),
    )
    return [kind for kind in DocumentKind.values if kind in kinds]


def documents_listed(*, procedure: str) -> tuple[list[str], list[str]]:
    """(kinds always needed, kinds needed in some cases) for the procedure's start page."""
    always = [kind for kind in DocumentKind.values if kind in REQUIRED_DOCUMENTS[procedure]]
    sometimes = []
    if procedure == Procedure.DUPLICATE:
        sometimes.append(DocumentKind.POLICE_REPORT)
    if procedure in CT_PROCEDURES:
        sometimes.append(DocumentKind.TECHNICAL_INSPECTION)
    return always, sometimes
