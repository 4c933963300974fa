"""The writes of a dealer's web first registration: the dossier with its documents, then its
submission (which takes the plate and issues the CPI, cert_workflow/documents/issuing.py).

All or nothing: every input and file error is raised at once and nothing is written (no vehicle,
holder, dossier, document, event or file)."""

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from dossiers import fees as fees_module
from dossiers.documents import document_attach
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Dossier, Procedure
from dossiers.services import dossier_create, dossier_fees, dossier_submit, fees_collected_by_professional
from dossiers.uploads import upload_check
from filing.dealer_forms import file_input
from portal.models import User


def _files_check(files: dict[str, UploadedFile]) -> list[FieldError]:
    """The errors of the uploaded files (the checks document_attach applies), before anything is
    written: a refused file refuses the whole registration, with the other errors."""
    errors = []
    for kind, uploaded in files.items():
        content = uploaded.read(settings.DOCUMENT_MAX_BYTES + 1)
        uploaded.seek(0)
        _checked, refused = upload_check(
            content=content, max_bytes=settings.DOCUMENT_MAX_BYTES, max_pixels=settings.DOCUMENT_MAX_PIXELS
        )
        errors += [FieldError(file_input(kind), e.rule, e.message, e.expected) for e in refused]
    return errors


def _fees_check(dossier: Dossier) -> fees_module.Fees:
    """The fees of the new dossier, or the refusal dossier_submit would give (before files are stored)."""
    try:
        return dossier_fees(dossier=dossier)
    except fees_module.FeesUnavailable as exc:
        raise InvalidInput([FieldError("fees", "fees_unavailable", exc.public_message, str(exc))]) from exc
    except ValueError as exc:  # a vehicle fact the fees need is missing
        raise InvalidInput(
            [FieldError("fees", "fees_uncomputable", str(fees_module.FEES_UNCOMPUTABLE))]
        ) from exc


def payment_needed(*, dossier: Dossier, fees: fees_module.Fees) -> bool:
    """Whether the payment service must record the fees before the dossier is submitted: an
    organisation without the tax agrément pays through the portal (REFERENCE.md §1)."""
    return fees.y6 > 0 and not fees_collected_by_professional(dossier=dossier)


def dealer_registration_file(
    *,
    dealer: User,
    vehicle: dict[str, Any],
    holder: dict[str, Any],
    facts: dict[str, Any],
    files: dict[str, UploadedFile],
) -> Dossier:
    """A new vehicle's first registration by `dealer`: the dossier, its documents ({kind: file}),
    and its submission. A dealer whose organisation does not collect the taxes itself gets the
    dossier as a draft, to pay before it is submitted (filing.dealer_views sends it to pay).
    InvalidInput with every error, nothing written, otherwise."""
    file_errors = _files_check(files)
    with transaction.atomic():
        try:
            dossier = dossier_create(
                procedure=Procedure.FIRST_REGISTRATION,
                vehicle=vehicle,
                holder=holder,
                facts=facts,
                filed_by=dealer,
            )
        except InvalidInput as exc:
            raise InvalidInput(exc.errors + file_errors) from exc
        if file_errors:
            raise InvalidInput(file_errors)
        fees = _fees_check(dossier)
        for kind, uploaded in files.items():
            document_attach(dossier=dossier, kind=kind, uploaded=uploaded, actor=dealer)
        if payment_needed(dossier=dossier, fees=fees):
            return dossier
        return dossier_submit(dossier=dossier, actor=dealer)


def dealer_registration_submit(*, dealer: User, dossier: Dossier) -> Dossier:
    """Submit a dealer's draft once paid (dossier_submit refuses it while fees are unpaid)."""
    if dossier.procedure != Procedure.FIRST_REGISTRATION:
        raise InvalidInput(
            [FieldError("procedure", "choice", _("Ce dossier n'est pas une immatriculation."))]
        )
    return dossier_submit(dossier=dossier, actor=dealer)
