"""The dealer's web first registration of a new vehicle: one page, one POST, then the dossier page
with its plate and CPI (tracking). A dealer whose organisation does not collect the taxes pays
first (payments) and submits from the page below once paid."""

from contextlib import suppress
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from dossiers.errors import InvalidInput
from dossiers.fees import fee_rows
from dossiers.models import Dossier, Procedure, State
from dossiers.selectors import dossier_get, dossier_payment
from dossiers.services import dossier_fees
from dossiers.states import TransitionNotAllowed
from filing import dealer_forms, dealer_services
from filing.steps import GENERAL
from portal.models import Role


def dealer_only(view):
    """Signed-in staff of a dealer organisation only: anyone else is refused (403)."""

    @wraps(view)
    @never_cache  # personal data: never kept by the browser or a proxy
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.role != Role.DEALER or not request.user.organisation_id:
            raise PermissionDenied(
                _("L'immatriculation d'un véhicule neuf est celle des professionnels habilités.")
            )
        return view(request, *args, **kwargs)

    return wrapped


def _summary_list(errors: dict[str, list[str]]) -> list[dict]:
    """The error summary's entries in the form's order, each a link to its input (or the form)."""
    labels = dealer_forms.labels()
    order = [*labels, GENERAL]
    entries = []
    for name in sorted(errors, key=order.index):
        anchor = "#form" if name == GENERAL else f"#id_{name}"
        for message in errors[name]:
            label = labels.get(name, "")
            entries.append({"href": anchor, "text": f"{label} : {message}" if label else message})
    return entries


def _form_page(request: HttpRequest, values: dict[str, str], errors: dict[str, list[str]]) -> HttpResponse:
    fieldsets = [
        {
            "name": fieldset.name,
            "legend": fieldset.legend,
            "hint": fieldset.hint,
            "fields": [
                {
                    "field": f,
                    "id": f"id_{f.name}",
                    "value": values.get(f.name, ""),
                    "errors": errors.get(f.name, []),
                }
                for f in fieldset.fields
            ],
        }
        for fieldset in dealer_forms.FIELDSETS
    ]
    documents = [
        {
            "name": dealer_forms.file_input(kind),
            "label": dealer_forms.DOCUMENT_LABELS[kind],
            "errors": errors.get(dealer_forms.file_input(kind), []),
        }
        for kind in dealer_forms.DOCUMENTS
    ]
    return render(
        request,
        "filing/dealer_registration.html",
        {
            "fieldsets": fieldsets,
            "documents": documents,
            "general_errors": errors.get(GENERAL, []),
            "error_list": _summary_list(errors),
            "organisation": request.user.organisation,
        },
        status=400 if errors else 200,
    )


@dealer_only
@require_http_methods(["GET", "POST"])
def registration_new(request: HttpRequest) -> HttpResponse:
    """GET: the empty form; POST: register the vehicle, or show every error at once."""
    if request.method == "GET":
        return _form_page(request, dict(dealer_forms.INITIAL), {})
    values = dealer_forms.entered(request.POST)
    files = {
        kind: request.FILES[dealer_forms.file_input(kind)]
        for kind in dealer_forms.DOCUMENTS
        if dealer_forms.file_input(kind) in request.FILES
    }
    try:
        dossier = dealer_services.dealer_registration_file(
            dealer=request.user, **dealer_forms.dossier_input(values), files=files
        )
    except InvalidInput as exc:
        return _form_page(request, values, dealer_forms.errors_by_input(exc.errors))
    if dossier.state == State.DRAFT:  # the organisation pays the fees before the dossier is filed
        submit_url = reverse("dealer-registration-submit", args=[dossier.reference])
        return redirect(
            f"{reverse('payment-start', args=[dossier.reference])}?{urlencode({'next': submit_url})}"
        )
    return redirect("dossier-detail", reference=dossier.reference)


@dealer_only
@require_http_methods(["GET", "POST"])
def registration_submit(request: HttpRequest, reference: str) -> HttpResponse:
    """A paid draft of the organisation: its fees, and the button that files it (plate and CPI)."""
    try:
        dossier = dossier_get(user=request.user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc
    if dossier.procedure != Procedure.FIRST_REGISTRATION:
        raise Http404
    if dossier.state != State.DRAFT:
        return redirect("dossier-detail", reference=dossier.reference)
    here = reverse("dealer-registration-submit", args=[dossier.reference])
    payment_url = f"{reverse('payment-start', args=[dossier.reference])}?{urlencode({'next': here})}"
    error_list: list[dict] = []
    if request.method == "POST":
        try:
            dossier = dealer_services.dealer_registration_submit(dealer=request.user, dossier=dossier)
        except InvalidInput as exc:
            error_list = [{"href": payment_url, "text": error.message} for error in exc.errors]
        except TransitionNotAllowed:
            return redirect("dossier-detail", reference=dossier.reference)
        else:
            return redirect("dossier-detail", reference=dossier.reference)
    fees = None
    # FeesUnavailable, or a missing vehicle fact: the payment page says which.
    with suppress(ValueError):
        fees = dossier_fees(dossier=dossier)
    payment = dossier_payment(dossier=dossier)
    return render(
        request,
        "filing/dealer_submit.html",
        {
            "dossier": dossier,
            "rows": fee_rows(fees) if fees else [],
            "paid": payment["paid"],
            "payment_status": payment["status"],
            "payment_url": payment_url,
            "error_list": error_list,
        },
        status=400 if error_list else 200,
    )
