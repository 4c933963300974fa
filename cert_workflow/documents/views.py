"""Public verification of a certificate or CPI from its QR code, and the public key that signs them.

No login: anyone holding the document (a police officer, a buyer) may check it. The page shows the
vehicle's key fields and never the holder's name or address. Every verdict is an ordinary page
(HTTP 200): "non valide" is an answer, not an error, and must read clearly on a phone.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_GET
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from cert_workflow.documents.signing import (
    AUTHENTIC,
    INVALID,
    SUPERSEDED,
    WITHDRAWN,
    public_key_pem,
    token_verify,
)
from portal.network import client_ip

DEFAULT_RATE = "60/minute"
PUBLIC_KEY_MAX_AGE = 3600


class VerifyRateThrottle(SimpleRateThrottle):
    """Per client address, signed in or not: the page is public and answers a database query."""

    scope = "verify"

    def get_rate(self) -> str:
        # Read at call time so that a deployment (or a test) can change it through settings.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or DEFAULT_RATE

    def get_ident(self, request) -> str:
        # The address behind the trusted proxies only: X-Forwarded-For is the client's to write.
        return client_ip(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


@require_GET
def verify_view(request: HttpRequest, token: str) -> HttpResponse:
    throttle = VerifyRateThrottle()
    if not throttle.allow_request(request, None):
        response = render(request, "cert_workflow/verify/throttled.html", status=429)
        wait = throttle.wait()
        if wait is not None:
            response["Retry-After"] = str(int(wait) + 1)
        return response
    verdict = token_verify(token)
    response = render(
        request,
        "cert_workflow/verify/page.html",
        {
            "verdict": verdict,
            "AUTHENTIC": AUTHENTIC,
            "INVALID": INVALID,
            "SUPERSEDED": SUPERSEDED,
            "WITHDRAWN": WITHDRAWN,
        },
    )
    # A verdict may change (a certificate gets superseded, a CPI expires or is withdrawn): never keep
    # a stale one.
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def public_key_view(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(public_key_pem(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="cle-publique-carte-grise.pem"'
    patch_cache_control(response, public=True, max_age=PUBLIC_KEY_MAX_AGE)
    return response
