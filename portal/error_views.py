"""The site's error pages: French, DSFR, each with a way back (home, "Mon espace", contact).

404 and 403 have the full site shell (templates/404.html, 403.html), as the request is sound. A 400 (a malformed or suspicious request, e.g. a
forged Host header) and a 500 are rendered here from a self-contained page with no request, no
context processor and no database query: whatever broke the request must not break its error page.
A CSRF failure gets the site shell with its own explanation instead of Django's English page.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


def _minimal_context() -> dict:
    return {"contact_email": settings.CONTACT_EMAIL}


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the self-contained page (templates/500.html), whatever state the site is in."""
    return HttpResponseServerError(loader.get_template("500.html").render(_minimal_context()))


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: self-contained too, as the request itself (its host, its session) may be what
    is wrong."""
    return HttpResponseBadRequest(loader.get_template("400.html").render(_minimal_context()))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an unknown address, or an object the caller may not see (scoping answers 404)."""
    return render(request, "404.html", {"contact_email": settings.CONTACT_EMAIL}, status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the refusal's own reason when the code gave one (our PermissionDenied messages
    are French sentences for people, e.g. "Cette page est réservée aux superviseurs.")."""
    reason = str(exception) if exception and exception.args else ""
    return render(
        request, "403.html", {"contact_email": settings.CONTACT_EMAIL, "reason": reason}, status=403
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: most often a form left open past the session's end, or cookies refused;
    say so in French and let the person start again (Django's page is English and technical)."""
    return render(request, "errors/403_csrf.html", {"contact_email": settings.CONTACT_EMAIL}, status=403)
