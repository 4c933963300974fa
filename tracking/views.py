"""The dossier page of /mon-espace/: where the dossier is, whose turn it is, when it should be
done, the complement to answer, the documents to download, and withdrawing. Views are thin: the
reads are tracking.selectors, the writes tracking.services and the domain services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cert_workflow.models import COMPLEMENT_HOLDER_FIELDS, IssuedDocument
from dossiers import states
from dossiers.errors import InvalidInput
from dossiers.models import Document, DocumentKind, Dossier, Holder, Procedure, State
from dossiers.selectors import dossier_get
from filing.selectors import dossier_drafts_unfiled, drafts_for_user
from portal.models import Role, User
from portal.views import STATE_BADGES
from tracking import selectors, services
from tracking.sale_acknowledgement import sale_acknowledgement_pdf

# The dossier page is the applicant's: a citizen's own, or a dealer's organisation's.
OWNER_ROLES = (Role.CITIZEN, Role.DEALER)

# Extensions of the stored types (uploads are PDF, JPEG or PNG, detected from their bytes).
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _dossier(request: HttpRequest, reference: str) -> Dossier:
    """The caller's dossier, or a 404 (another user's dossier is not distinguishable from none)."""
    user: User = request.user
    if user.role not in OWNER_ROLES:
        raise Http404
    try:
        return dossier_get(user=user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc


def _page(request: HttpRequest, dossier: Dossier, *, errors: dict | None = None, values=None, status=200):
    complement = selectors.complement_open_get(dossier=dossier)
    kinds, fields = (
        services.complement_reply_fields(complement=complement) if complement is not None else ([], [])
    )
    errors = errors or {}
    context = {
        "dossier": dossier,
        "badge": STATE_BADGES.get(dossier.state, ""),
        "turn": selectors.dossier_turn(dossier=dossier),
        "estimate": selectors.dossier_estimate(dossier=dossier),
        "estimate_explanation": selectors.estimate_explanation(),
        "timeline": selectors.dossier_timeline(dossier=dossier),
        "complement": complement,
        "complement_files": [
            {"name": kind, "label": DocumentKind(kind).label, "errors": errors.get(kind, [])}
            for kind in kinds
        ],
        "complement_inputs": [
            {
                "name": name,
                "label": _field_label(name),
                "value": (values or {}).get(name, ""),
                "current": getattr(dossier.holder, name) or "",
                "errors": errors.get(name, []),
                "type": "date" if name == "birth_date" else "email" if name == "email" else "text",
            }
            for name in fields
        ],
        "error_list": _summary(errors, kinds=kinds, fields=fields),
        "issued_documents": selectors.issued_documents_for(dossier=dossier),
        "uploads": selectors.uploads_for(dossier=dossier),
        "sale_acknowledgement": selectors.sale_acknowledgement_available(dossier=dossier),
        "withdrawable": services.dossier_withdrawable(dossier=dossier, user=request.user),
        "refusal_reason": selectors.dossier_refusal_reason(dossier=dossier),
        "fee_rows": selectors.dossier_fee_rows(dossier=dossier),
        # A dealer's new vehicle left as a draft (its fees to pay first) is filed from its own page.
        "dealer_submit": dossier.state == State.DRAFT
        and dossier.organisation_id is not None
        and dossier.procedure == Procedure.FIRST_REGISTRATION,
        **_filing_resume(request, dossier),
    }
    return render(request, "tracking/dossier.html", context, status=status)


def _filing_resume(request: HttpRequest, dossier: Dossier) -> dict:
    """How a citizen's draft goes on from its page: the guided form that holds it, or taking it up."""
    filing = drafts_for_user(user=request.user).filter(dossier=dossier).first()
    adoptable = filing is None and dossier_drafts_unfiled(user=request.user).filter(pk=dossier.pk).exists()
    return {"filing_draft": filing, "filing_adoptable": adoptable}


def _field_label(name: str) -> str:
    """A holder field as the complement request names it (« C.3 — Adresse »)."""
    return str(COMPLEMENT_HOLDER_FIELDS.get(name) or Holder._meta.get_field(name).verbose_name)


def _summary(errors: dict[str, list[str]], *, kinds: list[str], fields: list[str]) -> list[dict]:
    """The error summary's lines, in the order of the form; errors of no field point at the form."""
    order = [*kinds, *fields]
    summary = []
    for name in sorted(errors, key=lambda n: order.index(n) if n in order else len(order)):
        if name in kinds:
            label = DocumentKind(name).label
        elif name in fields:
            label = _field_label(name)
        else:
            label = _("Réponse")
        anchor = f"complement-{name}" if name in order else "complement-form"
        text = f"{capfirst(str(label))} : {' '.join(str(m) for m in errors[name])}"
        summary.append({"href": f"#{anchor}", "text": text})
    return summary


@never_cache  # personal data: never kept by the browser or a proxy
@login_required
@require_GET
def dossier_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return _page(request, _dossier(request, reference))


@never_cache
@login_required
@require_POST
def dossier_complement(request: HttpRequest, reference: str) -> HttpResponse:
    """The answer to the open complement request: documents, corrected fields, then back to the centre."""
    dossier = _dossier(request, reference)
    complement = selectors.complement_open_get(dossier=dossier)
    if complement is None:
        messages.error(request, _("Aucune demande de complément n'attend de réponse sur ce dossier."))
        return redirect("dossier-detail", reference=dossier.reference)
    try:
        services.complement_reply(
            dossier=dossier,
            actor=request.user,
            complement=complement,
            files=request.FILES,
            values=request.POST,
        )
    except InvalidInput as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            errors.setdefault(error.field, []).append(error.message)
        return _page(request, dossier, errors=errors, values=request.POST, status=400)
    except states.TransitionNotAllowed:
        messages.error(request, _("Ce dossier n'attend plus de complément : rien n'a été envoyé."))
        return redirect("dossier-detail", reference=dossier.reference)
    messages.success(
        request, _("Votre réponse est envoyée : votre dossier est retourné à son centre d'instruction.")
    )
    return redirect("dossier-detail", reference=dossier.reference)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def dossier_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the confirmation page; POST: abandon the dossier (refused once an agent holds it)."""
    dossier = _dossier(request, reference)
    if request.method == "POST":
        try:
            services.dossier_withdraw_by_owner(dossier=dossier, actor=request.user)
        except states.TransitionNotAllowed:
            messages.error(request, str(services.WITHDRAW_REFUSED))
        else:
            messages.success(request, _("Votre demande est abandonnée."))
        return redirect("dossier-detail", reference=dossier.reference)
    return render(
        request,
        "tracking/withdraw.html",
        {
            "dossier": dossier,
            "withdrawable": services.dossier_withdrawable(dossier=dossier, user=request.user),
        },
    )


@never_cache
@login_required
@require_GET
def issued_document_download(request: HttpRequest, reference: str, document_id: int) -> HttpResponse:
    """A document the portal issued for the dossier (receipt, certificate, CPI, letters), attached."""
    dossier = _dossier(request, reference)
    try:
        document = selectors.issued_document_get(dossier=dossier, document_id=document_id)
    except IssuedDocument.DoesNotExist as exc:
        raise Http404 from exc
    return FileResponse(
        default_storage.open(document.file.name, "rb"),
        as_attachment=True,
        filename=f"{dossier.reference}-{document.kind.replace('_', '-')}-{document.pk}.pdf",
        content_type="application/pdf",
    )


@never_cache
@login_required
@require_GET
def upload_download(request: HttpRequest, reference: str, document_id: int) -> HttpResponse:
    """A document the applicant uploaded to the dossier, attached (never shown inline)."""
    dossier = _dossier(request, reference)
    try:
        document = selectors.upload_get(dossier=dossier, document_id=document_id)
    except Document.DoesNotExist as exc:
        raise Http404 from exc
    extension = EXTENSIONS.get(document.content_type, "bin")
    return FileResponse(
        default_storage.open(document.file.name, "rb"),
        as_attachment=True,
        filename=f"{dossier.reference}-{document.kind.replace('_', '-')}-{document.pk}.{extension}",
        content_type=document.content_type,
    )


@never_cache
@login_required
@require_GET
def sale_acknowledgement(request: HttpRequest, reference: str) -> HttpResponse:
    """The seller's acknowledgement of a declaration of sale, with the code de cession, as a PDF."""
    dossier = _dossier(request, reference)
    if not selectors.sale_acknowledgement_available(dossier=dossier):
        raise Http404
    response = HttpResponse(sale_acknowledgement_pdf(dossier=dossier), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{dossier.reference}-declaration-de-cession.pdf"'
    return response
