"""The citizen's guided forms: plain POST forms, one step per page, each step saved (filing.services)."""

import logging
from datetime import date
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from dossiers import register
from dossiers.errors import InvalidInput
from dossiers.fees import FeesUnavailable, fee_rows
from dossiers.models import Document, DocumentKind, Dossier, Procedure, State
from dossiers.selectors import dossier_payment
from dossiers.services import dossier_fees
from dossiers.states import TransitionNotAllowed
from filing import checks, selectors, services, steps
from filing.models import FilingDraft
from payments.selectors import UNCOMPUTABLE_FEES
from portal.models import Role

logger = logging.getLogger(__name__)


def citizen_only(view):
    """Signed-in citizens only; a dealer files through the API or its batches, staff never files."""

    @wraps(view)
    @never_cache  # personal data: never kept by the browser or a proxy
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.role != Role.CITIZEN:
            raise PermissionDenied(_("Les démarches en ligne sont celles des usagers."))
        return view(request, *args, **kwargs)

    return wrapped


def _draft(request: HttpRequest, pk: int) -> FilingDraft:
    try:
        return selectors.draft_get(user=request.user, pk=pk)
    except FilingDraft.DoesNotExist as exc:
        raise Http404 from exc


def step_url(draft: FilingDraft, name: str) -> str:
    return reverse("filing-step", args=[draft.pk, name])


def _stepper(draft: FilingDraft, step: steps.Step) -> dict:
    all_steps = steps.steps_of(draft.procedure)
    index = [s.name for s in all_steps].index(step.name)
    context = {
        "draft": draft,
        "step": step,
        "step_number": index + 1,
        "step_count": len(all_steps),
        "next_step": all_steps[index + 1] if index + 1 < len(all_steps) else None,
        "previous_url": step_url(draft, all_steps[index - 1].name)
        if index and all_steps[index - 1].before_dossier == step.before_dossier
        else "",
        "procedure_label": Procedure(draft.procedure).label,
    }
    if index == 0:  # the first step goes back to what the procedure needs
        context.update(
            previous_url=reverse("filing-procedure", args=[draft.procedure]),
            previous_label=_("Retour à la présentation de la démarche"),
        )
    return context


def _summary_list(errors: dict[str, list[str]], labels: dict[str, str], *, url: str = "") -> list[dict]:
    """The error summary's entries: each error with a link to its input (or the form)."""
    entries = []
    for name, messages in errors.items():
        anchor = f"{url}#id_{name}" if name != steps.GENERAL else f"{url}#form"
        for message in messages:
            label = labels.get(name, "")
            entries.append({"href": anchor, "text": f"{label} : {message}" if label else message})
    return entries


@citizen_only
def start(request: HttpRequest) -> HttpResponse:
    """Choose a procedure; the unfinished filings can be taken up again."""
    procedures = [(p, Procedure(p).label, steps.PURPOSE[p]) for p in steps.WEB_PROCEDURES]
    return render(
        request,
        "filing/start.html",
        {"procedures": procedures, "drafts": selectors.drafts_for_user(user=request.user)},
    )


@citizen_only
@require_http_methods(["GET", "POST"])
def procedure_start(request: HttpRequest, procedure: str) -> HttpResponse:
    """What the procedure needs, listed before starting; POST starts a filing."""
    if procedure not in steps.WEB_PROCEDURES:
        raise Http404
    if request.method == "POST":
        draft = services.filing_start(user=request.user, procedure=procedure)
        return redirect(step_url(draft, draft.step))
    always, sometimes = selectors.documents_listed(procedure=procedure)
    return render(
        request,
        "filing/procedure.html",
        {
            "procedure": procedure,
            "procedure_label": Procedure(procedure).label,
            "documents": [DocumentKind(kind).label for kind in always],
            "sometimes": [DocumentKind(kind) for kind in sometimes],
            "at_hand": steps.AT_HAND[procedure],
            "steps": steps.steps_of(procedure),
        },
    )


@citizen_only
@require_http_methods(["POST"])
def adopt(request: HttpRequest, reference: str) -> HttpResponse:
    """Take up, in the guided form, a draft dossier made elsewhere (its documents step)."""
    try:
        dossier = selectors.dossier_drafts_unfiled(user=request.user).get(reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc
    draft = services.filing_adopt(user=request.user, dossier=dossier)
    return redirect(step_url(draft, draft.step))


@citizen_only
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    draft = _draft(request, pk)
    return redirect(step_url(draft, draft.step))


@citizen_only
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    draft = _draft(request, pk)
    current = steps.step_of(draft.procedure, name)
    if current is None:
        raise Http404
    if draft.dossier is not None and draft.dossier.state != State.DRAFT:
        return redirect(_finished_url(draft))
    if current.before_dossier and draft.dossier is not None:
        return redirect(step_url(draft, "documents"))
    if steps.step_index(draft.procedure, name) > steps.step_index(draft.procedure, draft.step):
        return redirect(step_url(draft, draft.step))
    view = {"summary": _summary, "documents": _documents, "fees": _fees, "submit": _submit}.get(name, _form)
    return view(request, draft, current)


def _finished_url(draft: FilingDraft) -> str:
    if draft.procedure == Procedure.SALE_DECLARATION:
        return reverse("filing-done", args=[draft.pk])
    return reverse("dossier-detail", args=[draft.dossier.reference])


def _profile_initial(user) -> dict[str, str]:
    """The holder's address from the citizen's profile, when the profile app provides it."""
    # portal.selectors.profile_holder_initial comes with the account work (issue 13); until it is
    # there the holder step is prefilled from the User alone.
    try:
        from portal import selectors as portal_selectors
    except ImportError:
        return {}
    initial = getattr(portal_selectors, "profile_holder_initial", None)
    return {k: str(v) for k, v in (initial(user) or {}).items() if v} if initial else {}


def _initial(request: HttpRequest, draft: FilingDraft, step: steps.Step) -> dict[str, str]:
    user = request.user
    if step.name == "vehicle":
        return {"last_name": user.last_name} if step is steps.VEHICLE_TITLE else {}
    if step.name in ("holder", "address"):
        initial = {"last_name": user.last_name, "first_names": user.first_name, "email": user.email}
        initial.update(_profile_initial(user))
        proved = draft.data.get("vehicle") or {}
        if step is not steps.HOLDER or draft.procedure != Procedure.CHANGE_OF_OWNER:
            initial.update({k: proved[k] for k in ("last_name", "birth_date") if proved.get(k)})
        return initial
    return {}


def _form(request: HttpRequest, draft: FilingDraft, step: steps.Step) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        entered = steps.step_entered(step=step, posted=request.POST)
        try:
            draft = services.filing_step_save(draft=draft, step=step, entered=entered)
        except InvalidInput as exc:
            errors = checks.errors_by_input(exc.errors, procedure=draft.procedure, step=step.name)
        else:
            return redirect(step_url(draft, steps.step_after(draft.procedure, step.name)))
    else:
        entered = draft.data.get(step.name) or _initial(request, draft, step)
    bound = [
        {"field": f, "id": f"id_{f.name}", "value": entered.get(f.name, ""), "errors": errors.get(f.name, [])}
        for f in step.fields
    ]
    labels = {f.name: str(f.label) for f in step.fields}
    return render(
        request,
        "filing/step.html",
        {
            **_stepper(draft, step),
            "fields": bound,
            "general_errors": errors.get(steps.GENERAL, []),
            "error_list": _summary_list(errors, labels),
        },
    )


def _day_shown(value: str) -> str:
    """A date as entered (YYYY-MM-DD) shown the French way (12/04/1985); anything else as typed."""
    try:
        return date_format(date.fromisoformat(value), "d/m/Y")
    except ValueError:
        return value


def _recap(draft: FilingDraft) -> list[dict]:
    """Each step before the summary with what was entered, for the citizen to read again."""
    sections = []
    for s in steps.steps_of(draft.procedure):
        if not s.before_dossier or s.name == "summary":
            continue
        entered = draft.data.get(s.name) or {}
        rows = []
        for f in s.fields:
            value = entered.get(f.name, "")
            if f.choices:
                value = dict(f.choices).get(value, value)
            elif f.kind == "date" and value:
                value = _day_shown(value)
            rows.append((f.label, value or "—"))
        sections.append({"title": s.title, "url": step_url(draft, s.name), "rows": rows})
    return sections


def _summary(request: HttpRequest, draft: FilingDraft, step: steps.Step) -> HttpResponse:
    error_list: list[dict] = []
    if request.method == "POST":
        try:
            dossier = services.filing_dossier_create(draft=draft)
        except InvalidInput as exc:
            for error in exc.errors:
                where, name = checks.input_of(error.field, procedure=draft.procedure)
                href = step_url(draft, where) if where != "summary" else ""
                error_list.append(
                    {
                        "href": f"{href}#id_{name}" if name != steps.GENERAL else f"{href}#form",
                        "text": error.message,
                    }
                )
        else:
            return redirect(step_url(draft, "documents") if dossier else step_url(draft, "summary"))
    vehicle = None
    if draft.procedure in register.TITLE_PROCEDURES:
        title = steps.title_input(data=draft.data)
        found = register.title_current(plate=title["plate"], formule_number=title["formule_number"])
        vehicle = found.vehicle if found else None
    return render(
        request,
        "filing/summary.html",
        {**_stepper(draft, step), "sections": _recap(draft), "vehicle": vehicle, "error_list": error_list},
    )


def _documents(request: HttpRequest, draft: FilingDraft, step: steps.Step) -> HttpResponse:
    dossier = draft.dossier
    required = selectors.documents_required(dossier=dossier)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        files = {
            f"file_{kind}": (kind, request.FILES[f"file_{kind}"])
            for kind in required
            if f"file_{kind}" in request.FILES
        }
        if "file_other" in request.FILES:
            files["file_other"] = (request.POST.get("other_kind", ""), request.FILES["file_other"])
        errors = services.filing_documents_attach(draft=draft, files=files, actor=request.user)
        present = set(selectors.documents_of(dossier=dossier).values_list("kind", flat=True))
        if request.POST.get("action") == "next":
            for kind in required:
                if kind not in present and f"file_{kind}" not in errors:
                    errors[f"file_{kind}"] = [_("Cette pièce est demandée pour cette démarche : joignez-la.")]
            if not errors:
                draft = services.filing_step_done(draft=draft, step="documents")
                return redirect(step_url(draft, "fees"))
        elif not errors:
            return redirect(step_url(draft, "documents"))
    documents = list(selectors.documents_of(dossier=dossier))
    present = {document.kind for document in documents}
    inputs = [
        {
            "name": f"file_{kind}",
            "id": f"id_file_{kind}",
            "label": DocumentKind(kind).label,
            "present": kind in present,
            "errors": errors.get(f"file_{kind}", []),
        }
        for kind in required
    ]
    labels = {i["name"]: str(i["label"]) for i in inputs} | {"file_other": _("Autre pièce")}
    return render(
        request,
        "filing/documents.html",
        {
            **_stepper(draft, step),
            "inputs": inputs,
            "other_errors": errors.get("file_other", []),
            "kinds": DocumentKind.choices,
            "documents": documents,
            "error_list": _summary_list(errors, labels),
        },
    )


def _fees(request: HttpRequest, draft: FilingDraft, step: steps.Step) -> HttpResponse:
    dossier = draft.dossier
    if request.method == "POST":
        draft = services.filing_step_done(draft=draft, step="fees")
        return redirect(step_url(draft, "submit"))
    try:
        fees, unavailable = dossier_fees(dossier=dossier), ""
    except FeesUnavailable as exc:
        logger.warning("fees unavailable for %s: %s", dossier.reference, exc)
        fees, unavailable = None, exc.public_message
    except ValueError:  # a vehicle fact the computation needs is missing (a dossier made elsewhere)
        fees, unavailable = None, UNCOMPUTABLE_FEES
    rows = fee_rows(fees) if fees else []
    payment = dossier_payment(dossier=dossier)
    here = step_url(draft, "fees")
    return render(
        request,
        "filing/fees.html",
        {
            **_stepper(draft, step),
            "fees": fees,
            "rows": rows,
            "unavailable": unavailable,
            "paid": payment["paid"],
            "fully_paid": fees is not None and fees.y6 > 0 and payment["paid"] >= fees.y6,
            "payment_url": reverse("payment-start", args=[dossier.reference])
            + "?"
            + urlencode({"next": here}),
        },
    )


def _submit(request: HttpRequest, draft: FilingDraft, step: steps.Step) -> HttpResponse:
    dossier = draft.dossier
    error_list: list[dict] = []
    if request.method == "POST":
        try:
            services.filing_submit(draft=draft, actor=request.user)
        except InvalidInput as exc:
            error_list = [{"href": "#form", "text": error.message} for error in exc.errors]
        except TransitionNotAllowed:
            error_list = [{"href": "#form", "text": _("Ce dossier ne peut plus être déposé.")}]
        else:
            draft.dossier.refresh_from_db()
            return redirect(_finished_url(draft))
    return render(
        request,
        "filing/submit.html",
        {
            **_stepper(draft, step),
            "dossier": dossier,
            "documents": list(selectors.documents_of(dossier=dossier)),
            "error_list": error_list,
        },
    )


@citizen_only
def done(request: HttpRequest, pk: int) -> HttpResponse:
    """The end of a filing: a sale declaration shows the seller the code de cession to hand over."""
    draft = _draft(request, pk)
    if draft.dossier is None or draft.dossier.state == State.DRAFT:
        return redirect(step_url(draft, draft.step))
    return render(
        request,
        "filing/done.html",
        {"draft": draft, "dossier": draft.dossier, "sale": getattr(draft.dossier, "sale", None)},
    )


@citizen_only
def document(request: HttpRequest, pk: int) -> FileResponse:
    """One of the citizen's own uploads, as a download (never displayed inline)."""
    try:
        found = selectors.document_for_user(user=request.user, pk=pk)
    except Document.DoesNotExist as exc:
        raise Http404 from exc
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        found.content_type, "bin"
    )
    name = f"{found.dossier.reference}-{found.kind}.{extension}"
    response = FileResponse(
        found.file.open("rb"), as_attachment=True, filename=name, content_type=found.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
