"""The pages every State service links from its footer: accessibility statement, legal notice,
personal data, site map. Plain pages; what they state is checked against the code by
tests/test_legal_pages.py where it can be (session lengths, contact, links)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


def _context() -> dict:
    return {"contact_email": settings.CONTACT_EMAIL}


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    """« Déclaration d'accessibilité »: non conforme, as no RGAA audit was made; says what was
    tested and what is known not to conform."""
    return render(request, "portal/legal/accessibility.html", _context())


@require_GET
def legal_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/legal/legal_notice.html", _context())


@require_GET
def personal_data(request: HttpRequest) -> HttpResponse:
    """What the portal keeps and why; session lengths come from the settings the code enforces."""
    return render(
        request,
        "portal/legal/personal_data.html",
        {
            **_context(),
            "public_idle_minutes": settings.SESSION_PUBLIC_IDLE_SECONDS // 60,
            "public_max_days": settings.SESSION_PUBLIC_MAX_SECONDS // 86400,
            "staff_idle_minutes": settings.SESSION_STAFF_IDLE_SECONDS // 60,
            "staff_max_hours": settings.SESSION_STAFF_MAX_SECONDS // 3600,
            "lockout_failures": settings.AXES_FAILURE_LIMIT,
            "confirmation_days": settings.EMAIL_CONFIRMATION_DAYS,
        },
    )


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    """« Plan du site »: every public page, then each role's space (all of them, to anyone: they are
    short, and a visitor learns where each kind of account works)."""
    return render(request, "portal/legal/sitemap.html", _context())
