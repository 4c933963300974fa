"""Payment pages: the payer's page of a dossier, the return from the provider, the provider's
notification endpoint, and the fake provider's own bank page. Each calls payments.services."""

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from dossiers import fees as fees_module
from dossiers.errors import InvalidInput
from dossiers.models import Dossier, State
from payments import selectors, services
from payments.models import PaymentAttempt
from payments.providers import PROVIDERS, Outcome
from payments.selectors import UNCOMPUTABLE_FEES

logger = logging.getLogger(__name__)

RETURN_MESSAGES = {
    Outcome.SUCCEEDED: (
        messages.SUCCESS,
        "Paiement accepté : les frais du dossier %(reference)s sont réglés.",
    ),
    Outcome.REFUSED: (
        messages.ERROR,
        "Paiement refusé par la banque pour le dossier %(reference)s : aucun montant n'a été prélevé. "
        "Vous pouvez réessayer.",
    ),
    Outcome.ABANDONED: (
        messages.WARNING,
        "Paiement abandonné pour le dossier %(reference)s : aucun montant n'a été prélevé. "
        "Vous pouvez le reprendre à tout moment.",
    ),
}


def _safe_next(request: HttpRequest, value: str | None) -> str:
    """`value` if it is a URL of this site, else empty."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def payment_start(request: HttpRequest, reference: str) -> HttpResponse:
    """Y.1–Y.6 of the dossier and what is left to pay; POST sends the payer to the provider."""
    try:
        dossier = selectors.dossier_for_payer(user=request.user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    errors: list = []
    if request.method == "POST":
        try:
            attempt = services.payment_start(dossier=dossier, actor=request.user, return_url=next_url)
        except InvalidInput as exc:
            errors = exc.errors
        else:
            return redirect(attempt.redirect_url)
    due = None
    try:
        due = selectors.payment_due(dossier=dossier)
    except fees_module.FeesUnavailable as exc:
        logger.warning("fees unavailable for %s: %s", dossier.reference, exc)
        errors = [*errors, exc.public_message]
    except ValueError:  # a vehicle fact the computation needs is missing (a dossier made elsewhere)
        errors = [*errors, UNCOMPUTABLE_FEES]
    context = {
        "dossier": dossier,
        "due": due,
        "rows": selectors.fee_rows(fees=due.fees) if due else [],
        "errors": [getattr(error, "message", error) for error in errors],
        "is_draft": dossier.state == State.DRAFT,
        "next": next_url,
        "attempts": selectors.payment_attempts(dossier=dossier)[:5],
    }
    return render(request, "payments/start.html", context, status=400 if errors else 200)


@never_cache
def payment_return(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the payer back, with the signed result: taken like a notification
    (so a result delivered twice is recorded once), then the payer goes where they came from."""
    try:
        attempt = services.payment_notification_receive(payload=request.GET.dict())
    except InvalidInput as exc:
        return render(request, "payments/return_refused.html", {"errors": exc.errors}, status=400)
    level, text = RETURN_MESSAGES[Outcome(request.GET["outcome"])]
    messages.add_message(request, level, _(text) % {"reference": attempt.dossier.reference})
    return redirect(attempt.return_url or reverse("payment-start", args=[attempt.dossier.reference]))


@csrf_exempt  # server to server: the provider's signature authenticates it, not a session
@require_POST
def payment_notification(request: HttpRequest, provider: str) -> JsonResponse:
    """The provider's notification of a result (signed); 400 and nothing recorded if refused."""
    if provider not in PROVIDERS:
        raise Http404
    try:
        attempt = services.payment_notification_receive(payload=request.POST.dict(), provider_name=provider)
    except InvalidInput as exc:
        return JsonResponse({"errors": exc.as_list()}, status=400)
    return JsonResponse({"session_id": attempt.session_id, "status": attempt.status})


# --- The fake provider's bank page --------------------------------------------------------------

FAKE_ACTIONS = {"pay": Outcome.SUCCEEDED, "refuse": Outcome.REFUSED, "abandon": Outcome.ABANDONED}


@never_cache
@require_http_methods(["GET", "POST"])
def fake_provider_page(request: HttpRequest, session_id: str) -> HttpResponse:
    """The simulated bank: pay, refuse or abandon; then back to the portal with the signed result."""
    attempt = (
        PaymentAttempt.objects.select_related("dossier")
        .filter(provider="fake", session_id=session_id)
        .first()
    )
    if attempt is None:
        raise Http404
    if request.method == "POST" and attempt.status == PaymentAttempt.Status.STARTED:
        outcome = FAKE_ACTIONS.get(request.POST.get("action", ""))
        if outcome is not None:
            payload = services.fake_payment_settle(attempt=attempt, outcome=outcome)
            return redirect(f"{reverse('payment-return')}?{urlencode(payload)}")
    return render(request, "payments/fake_provider.html", {"attempt": attempt})
