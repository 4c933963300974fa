"""FranceConnect login: mozilla-django-oidc's code flow, switched on by FRANCECONNECT_ENABLED.

The backend stays in AUTHENTICATION_BACKENDS either way (settings are read per request, so tests
can switch it on): it answers only the callback's `authenticate(request, nonce=...)`, never an
email and password. The citizen is found by FranceConnect's `sub`, never by an address alone.
"""

import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from portal import accounts
from portal.models import User
from portal.views import landing_url

logger = logging.getLogger(__name__)


def franceconnect_enabled() -> bool:
    return bool(getattr(settings, "FRANCECONNECT_ENABLED", False))


class FranceConnectBackend(OIDCAuthenticationBackend):
    def authenticate(self, request: HttpRequest | None, **kwargs) -> User | None:
        # Only the callback passes a nonce; a password login goes through ModelBackend alone.
        if not franceconnect_enabled() or request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as exc:
            # FranceConnect unreachable or answering an error: a failed login, said on the login
            # page (FranceConnectCallbackView.login_failure), not a 500.
            logger.warning("franceconnect: provider request failed: %s", exc)
            return None

    def verify_claims(self, claims: dict) -> bool:
        return bool(claims.get("sub")) and bool(claims.get("email"))

    def filter_users_by_claims(self, claims: dict):
        return User.objects.filter(franceconnect_sub=str(claims["sub"]))

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            logger.warning("franceconnect: userinfo without sub or email")
            return None
        return accounts.citizen_from_franceconnect(claims=claims)

    def user_can_authenticate(self, user: User) -> bool:
        return user.is_active


class _EnabledOnly:
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not franceconnect_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class FranceConnectLoginView(_EnabledOnly, OIDCAuthenticationRequestView):
    """Sends the browser to FranceConnect's authorisation page."""


class FranceConnectCallbackView(_EnabledOnly, OIDCAuthenticationCallbackView):
    """Back from FranceConnect: logged in as the citizen it names, or back to the login page."""

    @property
    def failure_url(self) -> str:
        return reverse("login")

    @property
    def success_url(self) -> str:
        # The request view keeps `next` only once it has checked it points at this site.
        return self.request.session.get("oidc_login_next") or landing_url(user=self.user)

    def login_failure(self) -> HttpResponse:
        messages.error(
            self.request,
            _(
                "La connexion avec FranceConnect n'a pas abouti. Réessayez, ou connectez-vous avec votre mot de passe."
            ),
        )
        return super().login_failure()
