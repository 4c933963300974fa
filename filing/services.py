"""Writes of a citizen's filing: start, save a step, create the dossier, attach, move on, submit.

Each step's inputs are stored only once they passed the step's checks (filing.steps); the dossier
is created, documents attached and the dossier submitted through dossiers' own services.
"""

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from dossiers.documents import document_attach
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Dossier, State
from dossiers.register import title_proof_limited
from dossiers.services import dossier_create, dossier_submit
from filing import checks, steps
from filing.models import FilingDraft
from portal.models import User


def filing_start(*, user: User, procedure: str) -> FilingDraft:
    """A new filing of `procedure` by a citizen, at its first step."""
    if procedure not in steps.WEB_PROCEDURES:
        raise InvalidInput([FieldError("procedure", "choice", "Démarche inconnue.")])
    return FilingDraft.objects.create(user=user, procedure=procedure, step=steps.steps_of(procedure)[0].name)


def filing_adopt(*, user: User, dossier: Dossier) -> FilingDraft:
    """The filing of a draft dossier made elsewhere (API, demo data), at its documents step; the
    same one when taken up twice. The caller has scoped `dossier` to `user`."""
    if (
        dossier.applicant_id != user.pk
        or dossier.state != State.DRAFT
        or dossier.procedure not in steps.WEB_PROCEDURES
    ):
        raise InvalidInput([FieldError("dossier", "state", "Ce dossier ne se reprend pas en ligne.")])
    draft, _created = FilingDraft.objects.get_or_create(
        dossier=dossier, defaults={"user": user, "procedure": dossier.procedure, "step": "documents"}
    )
    return draft


def _advance(draft: FilingDraft, to: str) -> list[str]:
    """The step reached moves forward only: going back to correct a step keeps the later ones."""
    if steps.step_index(draft.procedure, to) > steps.step_index(draft.procedure, draft.step):
        draft.step = to
        return ["step"]
    return []


TITLE_PROOF_STEPS = (steps.VEHICLE_TITLE, steps.VEHICLE_BOUGHT)


def filing_step_save(*, draft: FilingDraft, step: steps.Step, entered: dict[str, str]) -> FilingDraft:
    """Check a step's inputs (InvalidInput with all errors, nothing stored) and keep them as entered.
    A title proof step is limited (title_proof_limited: ten refusals an hour by user or plate)."""

    def check() -> None:
        checks.step_check(procedure=draft.procedure, step=step, entered=entered, data=draft.data)

    if step in TITLE_PROOF_STEPS:
        title_proof_limited(user=draft.user, plate=entered.get("plate"), prove=check)
    else:
        check()
    with transaction.atomic():
        draft = FilingDraft.objects.select_for_update().get(pk=draft.pk)
        draft.data = {**draft.data, step.name: entered}
        changed = ["data", "updated_at", *_advance(draft, steps.step_after(draft.procedure, step.name))]
        draft.save(update_fields=changed)
    return draft


def filing_dossier_create(*, draft: FilingDraft) -> Dossier:
    """The filing's draft dossier through dossier_create (every error at once, nothing written);
    created once even if the summary is sent twice. The inputs then live in the dossier only."""
    with transaction.atomic():
        draft = FilingDraft.objects.select_for_update(of=("self",)).select_related("dossier").get(pk=draft.pk)
        if draft.dossier is not None:
            return draft.dossier
        dossier = dossier_create(
            **steps.dossier_input(procedure=draft.procedure, data=draft.data), filed_by=draft.user
        )
        draft.dossier = dossier
        draft.data = {}
        draft.step = "documents"
        draft.save(update_fields=["dossier", "data", "step", "updated_at"])
    return dossier


def filing_documents_attach(
    *, draft: FilingDraft, files: dict[str, tuple[str, UploadedFile]], actor: User
) -> dict[str, list[str]]:
    """Attach each uploaded file ({input name: (kind, file)}) on its own: an accepted file is kept,
    a refused one stores nothing. Returns the French reasons of the refused ones, by input name."""
    refused: dict[str, list[str]] = {}
    for name, (kind, uploaded) in files.items():
        try:
            document_attach(dossier=draft.dossier, kind=kind, uploaded=uploaded, actor=actor)
        except InvalidInput as exc:
            refused[name] = [error.message for error in exc.errors]
    return refused


def filing_step_done(*, draft: FilingDraft, step: str) -> FilingDraft:
    """Move on from a step after the dossier exists (documents, fees)."""
    with transaction.atomic():
        draft = FilingDraft.objects.select_for_update().get(pk=draft.pk)
        changed = _advance(draft, steps.step_after(draft.procedure, step))
        if changed:
            draft.save(update_fields=[*changed, "updated_at"])
    return draft


def filing_submit(*, draft: FilingDraft, actor: User) -> Dossier:
    """Submit the filing's dossier (dossiers.services.dossier_submit decides what may be submitted)."""
    dossier = draft.dossier
    if dossier.state != State.DRAFT:
        return dossier
    return dossier_submit(dossier=dossier, actor=actor)
