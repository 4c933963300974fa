"""The documents an applicant uploads to a dossier: type detected, hashed, stored once."""

import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from dossiers import states
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Document, DocumentKind, Dossier, State
from dossiers.transitions import actor_may_act_on, event_record
from portal.models import User

# The content types accepted for documents, by their first bytes (never by the uploaded name).
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def detect_content_type(head: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def document_attach(*, dossier: Dossier, kind: str, uploaded: UploadedFile, actor: User) -> Document:
    """Store one document of `dossier` with its SHA-256, size and detected type (PDF, JPEG, PNG)."""
    if actor.role not in states.OWNER_ROLES or not actor_may_act_on(actor=actor, dossier=dossier):
        raise PermissionDenied(_("Seul le demandeur ajoute des pièces à son dossier."))
    errors = []
    if dossier.state not in (State.DRAFT, State.AWAITING_COMPLEMENT):
        errors.append(
            FieldError(
                "dossier",
                "state",
                _("Les pièces s'ajoutent à un brouillon ou en réponse à une demande de complément."),
                "draft, awaiting_complement",
            )
        )
    if kind not in DocumentKind.values:
        errors.append(
            FieldError("kind", "choice", _("Type de pièce inconnu."), ", ".join(DocumentKind.values))
        )
    if uploaded.size > settings.DOCUMENT_MAX_BYTES:
        errors.append(
            FieldError(
                "file",
                "file_too_large",
                _("Le fichier dépasse %(mb)d Mo.") % {"mb": settings.DOCUMENT_MAX_BYTES // 2**20},
                _("%(mb)d Mo au plus") % {"mb": settings.DOCUMENT_MAX_BYTES // 2**20},
            )
        )
    if uploaded.size == 0:
        errors.append(FieldError("file", "file_empty", _("Le fichier est vide.")))
    digest = hashlib.sha256()
    head = b""
    if not errors:
        for chunk in uploaded.chunks():
            if not head:
                head = chunk[:16]
            digest.update(chunk)
        content_type = detect_content_type(head)
        if content_type is None:
            errors.append(FieldError("file", "file_type", _("Format non accepté."), "PDF, JPEG, PNG"))
    if errors:
        raise InvalidInput(errors)
    sha256 = digest.hexdigest()
    uploaded.seek(0)
    with transaction.atomic():
        Dossier.objects.select_for_update().filter(pk=dossier.pk).first()
        existing = Document.objects.filter(dossier=dossier, kind=kind, sha256=sha256).first()
        if existing is not None:
            return existing
        document = Document(
            dossier=dossier,
            kind=kind,
            sha256=sha256,
            size=uploaded.size,
            content_type=content_type,
            uploaded_by=actor,
            original_name=(uploaded.name or "")[:200],
        )
        document.file.save(sha256, uploaded, save=False)
        document.save()
        event_record(
            dossier=dossier,
            actor=actor,
            action="document_attached",
            data={"kind": kind, "sha256": sha256, "size": uploaded.size},
        )
    return document
