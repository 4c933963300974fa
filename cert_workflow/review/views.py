"""The agent's pages: the centre's queue, "Prendre le dossier suivant", the review page with every
document inline, decisions, search. Same services as the API; agents and supervisors only."""

from collections.abc import Callable
from functools import wraps

from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from cert_workflow.documents import api as documents_api
from cert_workflow.models import Assessment, IssuedDocument, Outcome, Risk
from cert_workflow.review import bulk, claim, complements, decisions, search, selectors
from dossiers.errors import InvalidInput
from dossiers.fees import FEE_LABELS
from dossiers.models import Cert, Document, Dossier, State
from dossiers.states import TransitionNotAllowed
from portal import labels
from portal.models import Role, User
from portal.views import STATE_BADGES

QUEUE_PAGE_SIZE = 50
RISK_BADGES = {Risk.LOW: "fr-badge--success", Risk.MEDIUM: "fr-badge--warning", Risk.HIGH: "fr-badge--error"}
OUTCOME_BADGES = {
    Outcome.PASSED: "fr-badge--success",
    Outcome.WARNING: "fr-badge--warning",
    Outcome.FAILED: "fr-badge--error",
}
DECIDED_MESSAGES = {
    decisions.Decision.APPROVE: gettext_lazy("Le dossier %(reference)s est accepté."),
    decisions.Decision.REJECT: gettext_lazy("Le dossier %(reference)s est refusé."),
    decisions.Decision.REQUEST_COMPLEMENT: gettext_lazy(
        "Le complément est demandé pour le dossier %(reference)s : il revient dans la file dès la réponse."
    ),
}


def reviewer_required(view: Callable) -> Callable:
    """Login, then agents, supervisors and administrators only (others get a 403)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.role not in claim.REVIEWER_ROLES:
            raise PermissionDenied(_("Réservé aux instructeurs et aux superviseurs."))
        return view(request, *args, **kwargs)

    return wrapped


def _queue_cert(request: HttpRequest) -> Cert | None:
    """The agent's centre; for a supervisor, the centre named by ?centre=<code> (None if none)."""
    user: User = request.user
    if user.role == Role.AGENT:
        return user.cert
    code = request.GET.get("centre", "")
    return Cert.objects.filter(code=code).first() if code else None


@never_cache
@require_GET
@reviewer_required
def queue_view(request: HttpRequest) -> HttpResponse:
    """The centre's queue in claim order, the dossier the agent holds, and the claim button."""
    user: User = request.user
    cert = _queue_cert(request)
    rows, next_url, total = [], None, 0
    if cert is not None:
        queryset = selectors.queue_for_cert(cert_id=cert.pk)
        after = request.GET.get("apres")
        try:
            key = selectors.queue_cursor_decode(after) if after else None
        except InvalidInput:
            key = None
        rows, next_key = selectors.queue_page(queryset=queryset, after=key, size=QUEUE_PAGE_SIZE)
        total = queryset.count()
        if next_key is not None:
            query = request.GET.copy()
            query["apres"] = selectors.queue_cursor_encode(next_key)
            next_url = f"{request.path}?{query.urlencode()}"
        for row in rows:
            row.risk_label = Risk(row.risk).label if row.risk else _("Non évalué")
            row.risk_badge = RISK_BADGES.get(row.risk, "")
    return render(
        request,
        "cert_workflow/agent/queue.html",
        {
            "cert": cert,
            "certs": Cert.objects.order_by("code") if user.role != Role.AGENT else [],
            "rows": rows,
            "total": total,
            "next_url": next_url,
            "first_page": not request.GET.get("apres"),
            "held": selectors.held_dossier(agent=user) if user.role == Role.AGENT else None,
            "can_claim": user.role == Role.AGENT,
            "low_risk": Risk.LOW,
            "has_low_risk": any(row.risk == Risk.LOW for row in rows),
            "bulk_report": _bulk_report(request),
        },
    )


def _bulk_report(request: HttpRequest) -> dict | None:
    """The report of the bulk approval just made, once (it leaves the session when shown)."""
    lines = request.session.pop(BULK_REPORT_SESSION_KEY, None)
    if not lines:
        return None
    approved = [line for line in lines if line["outcome"] == "approved"]
    return {"lines": lines, "approved": len(approved), "skipped": len(lines) - len(approved)}


@require_POST
@reviewer_required
def claim_view(request: HttpRequest) -> HttpResponse:
    """Take the next dossier (or get back the one held) and open it."""
    if request.user.role != Role.AGENT:
        raise PermissionDenied(_("Seuls les instructeurs d'un CERT prennent des dossiers dans la file."))
    dossier = claim.queue_claim_next(agent=request.user)
    if dossier is None:
        messages.info(request, _("Aucun dossier n'attend d'instruction dans votre centre."))
        return redirect("agent-queue")
    return redirect("agent-dossier", reference=dossier.reference)


def _dossier_or_404(request: HttpRequest, reference: str) -> Dossier:
    try:
        return selectors.dossier_for_agent(agent=request.user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc


def _vehicle_rows(dossier: Dossier) -> list[tuple[str, object]]:
    """Each vehicle field by its certificate code and name, measures with their unit."""
    vehicle = dossier.vehicle
    return [
        (labels.field_label(name), labels.measure(getattr(vehicle, name), name) or None)
        if name in labels.UNITS
        else (labels.field_label(name), getattr(vehicle, name))
        for name in complements.VEHICLE_FIELDS
    ]


def _fee_rows(dossier: Dossier) -> list[tuple[str, object]]:
    """Y.1–Y.6 by code and French name, with the amounts frozen at submission (None before)."""
    return [(labels.fee_label(name), getattr(dossier, name)) for name in FEE_LABELS]


def _events(dossier: Dossier) -> list:
    """The audit, each event with its French action and reason (states, actions, routing codes)."""
    state_labels = dict(State.choices)
    centres = dict(Cert.objects.values_list("code", "name"))
    events = list(selectors.events_for_dossier(dossier=dossier))
    for event in events:
        event.from_label = state_labels.get(event.from_state, "")
        event.to_label = state_labels.get(event.to_state, "")
        event.action_label = labels.event_action_label(action=event.action, data=event.data, centres=centres)
        event.reason_label = labels.event_reason(action=event.action, reason=event.reason)
    return events


def _holder_rows(dossier: Dossier) -> list[tuple[str, object]]:
    holder = dossier.holder
    return [
        (
            labels.field_label(name),
            holder.get_holder_kind_display() if name == "holder_kind" else getattr(holder, name),
        )
        for name in complements.HOLDER_FIELDS
    ]


# Where each decision error is shown: the field's id (the summary links to it) and its label.
_DECISION_FIELDS = {
    "approve_confirm_checks": ("approve-confirm", gettext_lazy("Confirmation")),
    "approve_message": ("approve-message", gettext_lazy("Motif de l'acceptation")),
    "reject_reason": ("reject-reason", gettext_lazy("Motif du refus")),
    "reject_message": ("reject-message", gettext_lazy("Précisions pour le demandeur")),
    "request_complement_items": ("complement-documents", gettext_lazy("Pièces ou données à compléter")),
    "request_complement_message": ("complement-message", gettext_lazy("Message au demandeur")),
}


def _error_list(errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """The decision errors for the page's error summary: each a link to its field."""
    rows = []
    for key, messages_ in errors.items():
        anchor, label = _DECISION_FIELDS.get(key, ("decision", gettext_lazy("Décision")))
        if key == "request_complement_items":
            first = next(iter(complements.document_items()), None)
            anchor = f"item-{first[0]}" if first else anchor
        rows += [{"href": f"#{anchor}", "text": f"{label} : {message}"} for message in messages_]
    return rows


def _issued_rows(dossier: Dossier) -> list[dict[str, object]]:
    """Every document issued for the dossier, with its download link when it can be downloaded:
    rendered and not withdrawn (a withdrawn CPI is never handed out again, a pending one soon is)."""
    rows = []
    for document in selectors.issued_documents_for_dossier(dossier=dossier):
        if document.withdrawn_at is not None:
            status = "withdrawn"
        elif document.rendered_at is None:
            status = "pending"
        else:
            status = "ready"
        rows.append(
            {
                "document": document,
                "status": status,
                "url": reverse("agent-issued-document", args=[dossier.reference, document.pk])
                if status == "ready"
                else "",
            }
        )
    return rows


def _dossier_page(
    request: HttpRequest, dossier: Dossier, *, errors: dict | None = None, posted=None, status: int = 200
) -> HttpResponse:
    user: User = request.user
    remaining = selectors.lease_remaining(dossier=dossier)
    holds = dossier.state == State.IN_REVIEW and dossier.claimed_by_id == user.pk and bool(remaining)
    supervises = user.role in (Role.SUPERVISOR, Role.ADMIN)
    for document in dossier.documents_list:
        document.is_pdf = document.content_type == "application/pdf"
        document.is_image = document.content_type.startswith("image/")
    for request_row in dossier.complement_list:
        request_row.item_labels = complements.complement_item_labels(request=request_row)
    posted_items = posted.getlist("items") if posted is not None else []
    for check in dossier.check_list:
        check.badge = OUTCOME_BADGES.get(check.outcome, "")
    events = _events(dossier)
    assessment = Assessment.objects.filter(dossier=dossier).first()
    objections = selectors.check_objections(dossier=dossier)
    return render(
        request,
        "cert_workflow/agent/dossier.html",
        {
            "dossier": dossier,
            "badge": STATE_BADGES.get(dossier.state, ""),
            "vehicle_rows": _vehicle_rows(dossier),
            "holder_rows": _holder_rows(dossier),
            "fee_rows": _fee_rows(dossier),
            "events": events,
            "assessment": assessment,
            "assessment_badge": RISK_BADGES.get(assessment.risk, "") if assessment else "",
            "holds": holds,
            "lease_minutes": int(remaining.total_seconds() // 60) if remaining else 0,
            "can_decide": dossier.state == State.IN_REVIEW and (holds or supervises),
            "can_release": dossier.state == State.IN_REVIEW
            and (dossier.claimed_by_id == user.pk or supervises),
            "reject_reasons": [(code, str(label)) for code, label in decisions.REJECT_REASONS.items()],
            "document_items": [
                (code, label, code in posted_items) for code, label in complements.document_items()
            ],
            "field_items": [(code, label, code in posted_items) for code, label in complements.field_items()],
            "errors": errors or {},
            "error_list": _error_list(errors or {}),
            "posted": posted,
            "objections": objections,
            "objections_message": decisions.objections_message(objections) if objections else "",
            "confirm_min_length": decisions.CONFIRM_REASON_MIN_LENGTH,
            "issued_rows": _issued_rows(dossier),
        },
        status=status,
    )


@never_cache
@require_GET
@reviewer_required
def dossier_view(request: HttpRequest, reference: str) -> HttpResponse:
    """The review page: data, documents inline, automatic checks, history, decision forms."""
    return _dossier_page(request, _dossier_or_404(request, reference))


@require_POST
@reviewer_required
def decide_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Apply the agent's decision; the form comes back with its errors if a field is wrong."""
    dossier = _dossier_or_404(request, reference)
    decision = request.POST.get("decision", "")
    try:
        decisions.dossier_decide(
            dossier=dossier,
            agent=request.user,
            decision=decision,
            reason=request.POST.get("reason", ""),
            message=request.POST.get("message", ""),
            items=request.POST.getlist("items"),
            confirm_checks=request.POST.get("confirm_checks") == "1",
        )
    except InvalidInput as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            errors.setdefault(f"{decision}_{error.field}", []).append(error.message)
        return _dossier_page(request, dossier, errors=errors, posted=request.POST, status=400)
    except (claim.LeaseNotHeld, TransitionNotAllowed) as exc:
        messages.error(request, exc.message)
        return redirect("agent-dossier", reference=reference)
    messages.success(request, str(DECIDED_MESSAGES[decision]) % {"reference": reference})
    return redirect("agent-queue")


@require_POST
@reviewer_required
def release_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Give the dossier back to the queue at its place."""
    dossier = _dossier_or_404(request, reference)
    try:
        claim.dossier_release(dossier=dossier, agent=request.user)
    except (claim.LeaseNotHeld, TransitionNotAllowed) as exc:
        messages.error(request, exc.message)
        return redirect("agent-dossier", reference=reference)
    messages.info(request, _("Le dossier %(reference)s est remis dans la file.") % {"reference": reference})
    return redirect("agent-queue")


@require_POST
@reviewer_required
def lease_renew_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Keep the dossier another lease length."""
    dossier = _dossier_or_404(request, reference)
    try:
        claim.lease_renew(dossier=dossier, agent=request.user)
    except (claim.LeaseNotHeld, TransitionNotAllowed) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Votre réservation du dossier est prolongée."))
    return redirect("agent-dossier", reference=reference)


@never_cache
@require_GET
@reviewer_required
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
def document_view(request: HttpRequest, reference: str, document_id: int) -> FileResponse:
    """One document of a dossier in the caller's scope, shown inline (PDF, JPEG or PNG) and
    embeddable by the review page only (same origin)."""
    try:
        document = selectors.document_for_agent(
            agent=request.user, reference=reference, document_id=document_id
        )
    except Document.DoesNotExist as exc:
        raise Http404 from exc
    # The type stored is the one detected from the bytes (a PDF, JPEG or PNG that passed
    # dossiers.uploads), the name is ours, not the uploaded one, and the file runs in a sandbox
    # with no script, form, plugin or network access even if a check were ever missed.
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=False,
        filename=f"{document.kind}-{document.pk}.{extension.get(document.content_type, 'bin')}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_GET
@reviewer_required
def issued_document_view(request: HttpRequest, reference: str, document_id: int) -> HttpResponse:
    """A document the portal issued for a dossier in the caller's scope (certificate, CPI, receipt,
    rejection or complement letter), as a PDF attachment. Out of scope or unknown: 404; withdrawn
    (a CPI of a refused or abandoned dossier): 410; issued but not rendered yet: 409."""
    try:
        document = selectors.issued_document_for_agent(
            agent=request.user, reference=reference, document_id=document_id
        )
    except IssuedDocument.DoesNotExist as exc:
        raise Http404 from exc
    if document.withdrawn_at is not None or document.rendered_at is None:
        withdrawn = document.withdrawn_at is not None
        message = (
            documents_api.withdrawn_message(document)
            if withdrawn
            else _("Le document « %(kind)s » est en cours de production : réessayez dans quelques instants.")
            % {"kind": document.get_kind_display()}
        )
        return render(
            request,
            "cert_workflow/agent/document_unavailable.html",
            {"reference": reference, "message": message, "withdrawn": withdrawn},
            status=410 if withdrawn else 409,
        )
    response = FileResponse(
        default_storage.open(document.file.name, "rb"),
        as_attachment=True,
        filename=documents_api.file_name(reference=reference, document=document),
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_GET
@reviewer_required
def search_view(request: HttpRequest) -> HttpResponse:
    """Search the dossiers in the caller's scope (said on the page) by reference, plate, VIN or
    holder's names."""
    q = request.GET.get("q", "").strip()
    results = search.dossiers_search(user=request.user, q=q) if q else []
    for dossier in results:
        dossier.badge = STATE_BADGES.get(dossier.state, "")
    return render(
        request,
        "cert_workflow/agent/search.html",
        {
            "q": q,
            "results": results,
            "searched": bool(q),
            "limit": search.SEARCH_LIMIT,
            "scope": search.search_scope(user=request.user),
        },
    )


BULK_REPORT_SESSION_KEY = "bulk_approval_report"


@require_POST
@reviewer_required
def bulk_approve_view(request: HttpRequest) -> HttpResponse:
    """Approve the ticked low-risk dossiers now, then show on the queue page each one approved or
    left alone, with the reason (kept in the session for the one page after the redirect)."""
    references = request.POST.getlist("references")
    if not references:
        messages.error(request, _("Cochez au moins un dossier à faible risque."))
    elif len(references) > bulk.BULK_MAX:
        messages.error(request, _("Cochez au plus %(max)d dossiers à la fois.") % {"max": bulk.BULK_MAX})
    else:
        lines = bulk.bulk_approve_report(agent=request.user, references=references)
        request.session[BULK_REPORT_SESSION_KEY] = [line.as_dict() for line in lines]
    url = reverse("agent-queue")
    centre = request.POST.get("centre")
    return redirect(
        f"{url}?centre={centre}#resultat-acceptation" if centre else f"{url}#resultat-acceptation"
    )
