"""The client's address, as the throttles, the login lockout and the verification page see it."""

from django.http import HttpRequest
from rest_framework.settings import api_settings


def client_ip(request: HttpRequest) -> str:
    """The address of the client behind the configured number of trusted proxies (NUM_PROXIES).

    With no proxy (0, the default) it is REMOTE_ADDR and X-Forwarded-For is ignored: anyone can
    write that header. Behind N proxies that each append the address they saw, the N-th address
    from the right is the one the outermost trusted proxy saw; what the client put to its left is
    never read. The count is DRF's own NUM_PROXIES, so that its throttles, django-axes and the
    verification page can never disagree about who the client is.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    num_proxies = api_settings.NUM_PROXIES or 0
    if num_proxies <= 0:
        return remote_addr
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if not forwarded:
        return remote_addr
    return forwarded[-min(num_proxies, len(forwarded))]
