"""Idle and absolute session timeouts, shorter for the staff than for applicants.

A staff session (agents, supervisors, administrators) decides dossiers and issues titles: left
open on a shared counter it must not outlive the working day nor a coffee break. Citizens and
dealers keep long sessions, as before.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

from portal.models import Role

STARTED_AT = "portal_session_started_at"
SEEN_AT = "portal_session_seen_at"
# The last-seen time is rewritten at most this often (seconds), so that a page full of requests
# does not save the session each time; an idle timeout may thus end up to a minute early.
SEEN_RESOLUTION_SECONDS = 60
STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


def session_limits(*, user) -> tuple[int, int]:
    """(idle, absolute) limits in seconds for this user's sessions."""
    if user.is_staff or user.role in STAFF_ROLES:
        return settings.SESSION_STAFF_IDLE_SECONDS, settings.SESSION_STAFF_MAX_SECONDS
    return settings.SESSION_PUBLIC_IDLE_SECONDS, settings.SESSION_PUBLIC_MAX_SECONDS


def session_expiry_reason(*, session, user, now: int) -> str | None:
    """Why this session is over ("idle" or "absolute"), or None while it is still valid."""
    started_at, seen_at = session.get(STARTED_AT), session.get(SEEN_AT)
    if started_at is None or seen_at is None:
        return None
    idle, absolute = session_limits(user=user)
    if now - started_at > absolute:
        return "absolute"
    if now - seen_at > idle:
        return "idle"
    return None


class SessionTimeoutMiddleware:
    """Logs out a session past its idle or absolute limit; the login page then says why.

    Placed after the authentication and message middlewares. API calls with a session go on as
    anonymous (DRF answers 401/403); pages redirect to the login page, which comes back to them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = int(time.time())
        if request.user.is_authenticated:
            reason = session_expiry_reason(session=request.session, user=request.user, now=now)
            if reason is not None:
                return self._expired(request, reason=reason)
            if now - request.session.get(SEEN_AT, now) >= SEEN_RESOLUTION_SECONDS:
                request.session[SEEN_AT] = now

        response = self.get_response(request)

        # A session that has just logged in (login() flushes or renews it) starts its clocks here;
        # a session from before this middleware existed starts them at its next request.
        if request.user.is_authenticated and STARTED_AT not in request.session:
            request.session[STARTED_AT] = now
            request.session[SEEN_AT] = now
        return response

    def _expired(self, request: HttpRequest, *, reason: str) -> HttpResponse:
        logout(request)
        if request.path.startswith("/api/"):
            return self.get_response(request)
        if reason == "idle":
            message = _("Votre session a expiré après une période d'inactivité. Veuillez vous reconnecter.")
        else:
            message = _("Votre session a atteint sa durée maximale. Veuillez vous reconnecter.")
        messages.warning(request, message)
        if request.path == resolve_url(settings.LOGIN_URL):
            return self.get_response(request)
        return redirect_to_login(request.get_full_path())
