"""The applicant's writes from the dossier page: answering a complement request in one go, and
withdrawing. Both call the domain services (dossiers, cert_workflow); nothing here writes a state."""

import dataclasses
from collections.abc import Mapping

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from cert_workflow.review import complements
from dossiers import states
from dossiers.documents import document_attach
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Document, DocumentKind, Dossier, DossierEvent, State
from dossiers.services import dossier_withdraw
from dossiers.uploads import upload_check
from portal.models import User
from tracking.selectors import ComplementView

# The file field that answers the vehicle items: a supporting document showing the right value.
PROOF_KIND = DocumentKind.OTHER


def complement_reply_fields(*, complement: ComplementView) -> tuple[list[str], list[str]]:
    """What the answer form asks: the document kinds to upload (a vehicle item adds one « Autre »
    document) and the holder fields to type."""
    kinds = [code for code, _label in complement.documents]
    if complement.vehicle_fields and PROOF_KIND not in kinds:
        kinds.append(PROOF_KIND)
    fields = complements.complement_holder_inputs(codes=[code for code, _label in complement.holder_fields])
    return kinds, fields


def _answered_since(*, dossier: Dossier, complement: ComplementView) -> tuple[set[str], set[str]]:
    """The document kinds uploaded and holder fields corrected since the request was made."""
    since = complement.request.requested_at
    kinds = set(
        Document.objects.filter(dossier=dossier, created_at__gte=since).values_list("kind", flat=True)
    )
    fields: set[str] = set()
    for data in DossierEvent.objects.filter(
        dossier=dossier, action=complements.FIELDS_CORRECTED, created_at__gte=since
    ).values_list("data", flat=True):
        fields.update(data.get("fields", []))
    return kinds, fields


def complement_reply(
    *,
    dossier: Dossier,
    actor: User,
    complement: ComplementView,
    files: Mapping[str, UploadedFile],
    values: Mapping[str, str],
) -> Dossier:
    """Answer the open complement request of `dossier` at once: upload the documents asked, correct
    the holder fields asked, then send the answer (the dossier goes back to its centre).

    Everything is checked before anything is written, and every problem is reported at once
    (InvalidInput, field = the document kind or the holder field): a refused file, a refused value
    or an item left unanswered leaves the dossier, its documents and its holder as they were."""
    if actor.role not in states.OWNER_ROLES:
        raise InvalidInput(
            [FieldError("dossier", "owner_only", _("Seul le demandeur répond au complément."))]
        )
    kinds, fields = complement_reply_fields(complement=complement)
    uploaded_kinds, corrected = _answered_since(dossier=dossier, complement=complement)
    errors: list[FieldError] = []
    given_files = {kind: files[kind] for kind in kinds if files.get(kind)}
    for kind, uploaded in given_files.items():
        content = uploaded.read(settings.DOCUMENT_MAX_BYTES + 1)
        uploaded.seek(0)
        _checked, file_errors = upload_check(
            content=content, max_bytes=settings.DOCUMENT_MAX_BYTES, max_pixels=settings.DOCUMENT_MAX_PIXELS
        )
        errors.extend(dataclasses.replace(error, field=kind) for error in file_errors)
    for kind in kinds:
        if kind not in given_files and kind not in uploaded_kinds:
            errors.append(
                FieldError(
                    kind,
                    "required",
                    _("Déposez la pièce demandée : %(label)s.") % {"label": DocumentKind(kind).label},
                    "PDF, JPEG, PNG",
                )
            )
    to_correct = {}
    for name in fields:
        value = (values.get(name) or "").strip()
        if value:
            to_correct[name] = value
        elif name not in corrected:
            errors.append(FieldError(name, "required", _("Saisissez la valeur corrigée de ce champ.")))
    if to_correct:
        try:
            complements.complement_holder_clean(
                dossier=dossier, request=complement.request, values=to_correct
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        for kind, uploaded in given_files.items():
            document_attach(dossier=dossier, kind=kind, uploaded=uploaded, actor=actor)
        if to_correct:
            complements.complement_fields_correct(dossier=dossier, actor=actor, values=to_correct)
        return complements.complement_answer(dossier=dossier, actor=actor)


def dossier_withdrawable(*, dossier: Dossier, user: User) -> bool:
    """Whether `user` may withdraw `dossier` now: only its owner, only before an agent decided."""
    return State.WITHDRAWN in states.allowed_next(dossier.state, role=user.role)


def dossier_withdraw_by_owner(*, dossier: Dossier, actor: User) -> Dossier:
    """The applicant abandons their dossier (dossiers.services.dossier_withdraw); TransitionNotAllowed
    once an agent holds or decided it (WITHDRAW_REFUSED says so to people)."""
    return dossier_withdraw(dossier=dossier, actor=actor, reason=_("Demande abandonnée par le demandeur."))


WITHDRAW_REFUSED = _lazy(
    "Ce dossier ne peut plus être abandonné : un agent l'instruit ou a déjà pris sa décision. "
    "Rien n'a été modifié."
)
