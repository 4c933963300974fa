"""The documents an applicant uploads to a dossier: type detected, hashed, stored once."""

import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from dossiers import states
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Document, DocumentKind, Dossier, State
from dossiers.transitions import actor_may_act_on, event_record
from dossiers.uploads import upload_check
from portal.models import User


def document_attach(*, dossier: Dossier, kind: str, uploaded: UploadedFile, actor: User) -> Document:
    """Store one document of `dossier` once it passed dossiers.uploads.upload_check (type from the
    bytes, a PDF without active content, an image re-encoded under the pixel limit), with the
    SHA-256, size and type of the stored bytes; at most DOCUMENT_MAX_PER_DOSSIER per dossier."""
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
    checked = None
    if not errors:
        # Read at most one byte past the cap: a larger file is refused without being held whole.
        content = uploaded.read(settings.DOCUMENT_MAX_BYTES + 1)
        checked, file_errors = upload_check(
            content=content,
            max_bytes=settings.DOCUMENT_MAX_BYTES,
            max_pixels=settings.DOCUMENT_MAX_PIXELS,
        )
        errors.extend(file_errors)
    if errors:
        raise InvalidInput(errors)
    sha256 = hashlib.sha256(checked.content).hexdigest()
    size = len(checked.content)
    with transaction.atomic():
        Dossier.objects.select_for_update().filter(pk=dossier.pk).first()
        existing = Document.objects.filter(dossier=dossier, kind=kind, sha256=sha256).first()
        if existing is not None:
            return existing
        # Counted under the dossier's lock, so concurrent uploads cannot pass the cap together.
        if Document.objects.filter(dossier=dossier).count() >= settings.DOCUMENT_MAX_PER_DOSSIER:
            raise InvalidInput(
                [
                    FieldError(
                        "file",
                        "too_many_files",
                        _("Ce dossier a déjà %(n)d pièces, le maximum.")
                        % {"n": settings.DOCUMENT_MAX_PER_DOSSIER},
                        _("%(n)d pièces au plus") % {"n": settings.DOCUMENT_MAX_PER_DOSSIER},
                    )
                ]
            )
        document = Document(
            dossier=dossier,
            kind=kind,
            sha256=sha256,
            size=size,
            content_type=checked.content_type,
            uploaded_by=actor,
            original_name=(uploaded.name or "")[:200],
        )
        document.file.save(sha256, ContentFile(checked.content), save=False)
        document.save()
        event_record(
            dossier=dossier,
            actor=actor,
            action="document_attached",
            data={"kind": kind, "sha256": sha256, "size": size},
        )
    return document
