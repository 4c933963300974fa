"""The site shell: home page, login and logout, each role's space, and the health check."""

import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dossiers.models import State
from dossiers.selectors import dossiers_for_user
from portal.forms import LoginForm
from portal.models import Role, User

logger = logging.getLogger(__name__)

DOSSIERS_PER_PAGE = 25

# DSFR badge variant of each state, so that the state reads at a glance and not by colour alone
# (the label is always written).
STATE_BADGES: dict[str, str] = {
    State.DRAFT: "",
    State.SUBMITTED: "fr-badge--info",
    State.QUEUED: "fr-badge--new",
    State.IN_REVIEW: "fr-badge--info",
    State.AWAITING_COMPLEMENT: "fr-badge--warning",
    State.APPROVED: "fr-badge--success",
    State.ISSUED: "fr-badge--success",
    State.REJECTED: "fr-badge--error",
    State.WITHDRAWN: "",
}


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


class LoginView(auth_views.LoginView):
    """Email and password login; django-axes counts the failures (the form passes `request`)."""

    form_class = LoginForm
    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs) -> dict:
        return {**super().get_context_data(**kwargs), "franceconnect_enabled": settings.FRANCECONNECT_ENABLED}

    def get_default_redirect_url(self) -> str:
        # Without a `next`, each role goes straight to where it works (LOGIN_REDIRECT_URL is
        # /mon-espace/, which would only redirect staff once more).
        return landing_url(user=self.request.user)


class LogoutView(auth_views.LogoutView):
    """Logout by POST only (Django 5), then back to the home page."""


# Where each role works. Agents and supervisors have their own pages; /mon-espace/ is the
# applicant's list of dossiers and sends staff on to those pages.
LANDING_URL_NAMES: dict[str, str] = {
    Role.AGENT: "agent-queue",
    Role.SUPERVISOR: "supervision",
    Role.ADMIN: "supervision",
}


def landing_url(*, user: User) -> str:
    """The page a signed-in user lands on: the queue, the supervision, or their own space."""
    return reverse(LANDING_URL_NAMES.get(user.role, "space"))


@never_cache  # personal data: never kept by the browser or a proxy, even after logout
@login_required
def space(request: HttpRequest) -> HttpResponse:
    """A citizen's or a dealer's dossiers; agents and supervisors are sent to their own pages."""
    user: User = request.user
    if user.role not in (Role.CITIZEN, Role.DEALER):
        return redirect(landing_url(user=user))
    dossiers = dossiers_for_user(user=user).order_by("-created_at", "-id")
    page = Paginator(dossiers, DOSSIERS_PER_PAGE).get_page(request.GET.get("page"))
    for dossier in page:
        dossier.badge = STATE_BADGES.get(dossier.state, "")
    template = "portal/space_citizen.html" if user.role == Role.CITIZEN else "portal/space_dealer.html"
    return render(request, template, {"page_obj": page, "organisation": user.organisation})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database (and the broker, if one is configured) answer; 503 otherwise."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(result in ("ok", "not configured") for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure is a failed check, reported, never a 500
        logger.warning("healthz: database check failed: %s", exc)
        # The class name only: the page is public and messages may carry host names.
        return type(exc).__name__
    return "ok"


def _check_broker() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure is a failed check, reported, never a 500
        logger.warning("healthz: broker check failed: %s", exc)
        return type(exc).__name__
    return "ok"
