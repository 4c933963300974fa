"""The site shell: home page, login and logout, each role's space, and the health check."""

import logging
from collections import Counter as Tally

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dossiers.models import FINAL_STATES, OPEN_STATES, Cert, State
from dossiers.selectors import dossiers_for_user
from portal.forms import LoginForm
from portal.models import Role, User

logger = logging.getLogger(__name__)

DOSSIERS_PER_PAGE = 25
AGENT_QUEUE_PREVIEW = 10

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


class LogoutView(auth_views.LogoutView):
    """Logout by POST only (Django 5), then back to the home page."""


@never_cache  # personal data: never kept by the browser or a proxy, even after logout
@login_required
def space(request: HttpRequest) -> HttpResponse:
    """The signed-in user's space: what they can see and act on, according to their role."""
    user: User = request.user
    if user.role in (Role.CITIZEN, Role.DEALER):
        return _owner_space(request, user)
    if user.role == Role.AGENT:
        return _agent_space(request, user)
    return _supervision_space(request, user)


def _owner_space(request: HttpRequest, user: User) -> HttpResponse:
    dossiers = dossiers_for_user(user=user).order_by("-created_at", "-id")
    page = Paginator(dossiers, DOSSIERS_PER_PAGE).get_page(request.GET.get("page"))
    for dossier in page:
        dossier.badge = STATE_BADGES.get(dossier.state, "")
    template = "portal/space_citizen.html" if user.role == Role.CITIZEN else "portal/space_dealer.html"
    return render(request, template, {"page_obj": page, "organisation": user.organisation})


def _agent_space(request: HttpRequest, user: User) -> HttpResponse:
    dossiers = dossiers_for_user(user=user)
    counts = Tally(dict(dossiers.values_list("state").annotate(n=Count("id")).order_by()))
    queued = counts.get(State.QUEUED, 0)
    cert = user.cert
    oldest = list(
        dossiers.filter(state=State.QUEUED).order_by("-priority", "queued_at")[:AGENT_QUEUE_PREVIEW]
    )
    return render(
        request,
        "portal/space_agent.html",
        {
            "cert": cert,
            "state_counts": [
                (label, counts.get(value, 0)) for value, label in State.choices if value != State.DRAFT
            ],
            "queued": queued,
            "wait_days": projected_wait_days(queued=queued, daily_capacity=cert.daily_capacity),
            "oldest": oldest,
        },
    )


def _supervision_space(request: HttpRequest, user: User) -> HttpResponse:
    rows = dossiers_for_user(user=user).values_list("cert_id", "state").annotate(n=Count("id")).order_by()
    certs = list(Cert.objects.order_by("code"))
    table = supervision_table(counts={(cert_id, state): n for cert_id, state, n in rows}, certs=certs)
    return render(
        request,
        "portal/space_supervisor.html",
        {
            "states": [(value, label) for value, label in State.choices],
            "table": table,
        },
    )


def projected_wait_days(*, queued: int, daily_capacity: int) -> float:
    """Working days needed to clear `queued` dossiers at `daily_capacity` a day (0 without capacity)."""
    if daily_capacity <= 0:
        return 0.0
    return round(queued / daily_capacity, 1)


def supervision_table(*, counts: dict[tuple[int | None, str], int], certs: list[Cert]) -> list[dict]:
    """One row per centre (then one for dossiers not routed yet) with its count in every state."""
    rows = []
    for cert_id, label, capacity in [(c.pk, c.name, c.daily_capacity) for c in certs] + [(None, None, 0)]:
        cells = [counts.get((cert_id, state), 0) for state in State.values]
        open_total = sum(counts.get((cert_id, state), 0) for state in OPEN_STATES)
        if cert_id is None and not any(cells):
            continue
        rows.append(
            {
                "label": label,
                "cells": cells,
                "open": open_total,
                "closed": sum(counts.get((cert_id, state), 0) for state in FINAL_STATES),
                "wait_days": projected_wait_days(
                    queued=counts.get((cert_id, State.QUEUED), 0), daily_capacity=capacity
                )
                if cert_id
                else None,
            }
        )
    return rows


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
