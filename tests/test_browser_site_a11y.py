"""axe-core on every page of the site, as each role reaches it, on a desktop (1280×800) and a phone
(375×740) viewport: no serious or critical violation. One browser; one sign-in per role, each page
loaded once and checked at both sizes. Error pages (404, 403, 500) and the API docs included."""

import pytest
from django.urls import path
from django.utils import timezone

from batches import services as batch_services
from cert_workflow.checks import services as checks
from dossiers.models import Cert, Dossier, State
from portal import urls as portal_urls
from tests import factories
from tests.browser import in_own_thread, serious_violations

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
CLAIM = "prendre le dossier suivant"


def _boom(request):
    raise RuntimeError("a bug in a view")


# The URL configuration of the test: the site and a failing view, to show the 500 page.
urlpatterns = [path("essai/panne/", _boom), *portal_urls.urlpatterns]
handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500


def _queued(dossier: Dossier, *, cert: Cert) -> Dossier:
    """In a centre's queue, without running the submission's other tasks (routing, receipt),
    which the pages do not need and which would take seconds; checked, as an agent is only given
    checked dossiers."""
    Dossier.objects.filter(pk=dossier.pk).update(
        state=State.QUEUED, cert=cert, submitted_at=timezone.now(), queued_at=timezone.now()
    )
    checks.checks_run_queued(dossier_ids=[dossier.pk])
    return dossier


@pytest.fixture
def site(media_in_tmp):
    """One account per role, each with something on its pages. Written before the browser starts."""
    cert = factories.CertFactory(code="BES", name="CERT de Besançon", city="Besançon")
    citizen = factories.citizen(email="citoyen@example.fr")
    submitted = _queued(factories.draft(filed_by=citizen), cert=cert)
    other = _queued(factories.draft(filed_by=factories.citizen()), cert=cert)
    dealer = factories.organisation_admin(email="garage@example.fr")
    dealer_dossier = factories.draft(filed_by=dealer)
    batch, _ = batch_services.batch_receive(
        user=dealer,
        idempotency_key="a11y-1",
        content_sha256="a" * 64,
        source="json",
        rows=[
            # Refused rows only: an accepted one renders a CPI, seconds the page does not need.
            batch_services.RowInput(1, factories.batch_row(vehicle=factories.vehicle_data(vin="1"))),
            batch_services.RowInput(2, factories.batch_row(invoice_date="demain")),
        ],
    )
    factories.agent(cert=cert, email="agent@cert.example.fr")
    reviewed = _queued(factories.draft(filed_by=factories.citizen()), cert=cert)
    factories.supervisor(email="superviseur@example.fr")
    return {
        "cert": cert,
        "submitted": submitted,
        "other": other,
        "dealer_dossier": dealer_dossier,
        "batch": batch,
        "reviewed": reviewed,
    }


def _pages(site) -> dict[str, list[str]]:
    reviewed, cert = site["reviewed"], site["cert"]
    return {
        "": [
            "/",
            "/statistiques/",
            "/verifier/jeton-inconnu",
            "/connexion/",
            "/inscription/",
            "/inscription/nouveau-lien/",
            "/mot-de-passe/oublie/",
            "/accessibilite/",
            "/mentions-legales/",
            "/donnees-personnelles/",
            "/plan-du-site/",
            "/page-inconnue/",
            "/essai/panne/",
            "/api/docs/",
        ],
        "citoyen@example.fr": [
            "/mon-espace/",
            f"/mon-espace/dossiers/{site['submitted'].reference}/",
            f"/mon-espace/dossiers/{site['other'].reference}/",  # another's: 404
            "/mon-espace/profil/",
            "/demarches/",
            "/instruction/",  # 403
            "/plan-du-site/",
        ],
        "garage@example.fr": [
            "/mon-espace/",
            f"/mon-espace/dossiers/{site['dealer_dossier'].reference}/",
            "/mon-espace/organisation/",
            "/mon-espace/organisation/jetons/",
            "/mon-espace/organisation/webhooks/",
            "/mon-espace/lots/",
            f"/mon-espace/lots/{site['batch'].pk}/",
            "/mon-espace/vehicules-neufs/nouveau/",
        ],
        "agent@cert.example.fr": [
            "/instruction/",
            f"/instruction/dossiers/{reviewed.reference}/",
            f"/instruction/recherche/?q={reviewed.reference}",
            CLAIM,  # the dossier page as its reviewer sees it, with the decision forms
            "/supervision/",  # 403
        ],
        "superviseur@example.fr": [
            "/supervision/",
            f"/supervision/centres/{cert.code}/",
            f"/instruction/?centre={cert.code}",
            "/statistiques/",
        ],
    }


def _open_an_operation(page) -> None:
    """Swagger UI draws itself from the schema after the load: wait for it, then open the first
    operation's "Try it out" form, the state with the most controls."""
    page.wait_for_selector(".swagger-ui .info")
    page.locator(".opblock-summary-control").first.click()
    page.get_by_role("button", name="Try it out").first.click()
    page.wait_for_selector("textarea.body-param__text")


def _state_is_on_screen(page) -> None:
    """On a phone, the first table (dossiers, batches) shows each row's state without scrolling sideways."""
    badge = page.locator("table tbody tr").first.locator(".fr-badge").first
    box = badge.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


@pytest.mark.browser
@pytest.mark.urls("tests.test_browser_site_a11y")
@pytest.mark.django_db(transaction=True)
def test_every_page_as_each_role_on_desktop_and_phone_has_no_serious_violation(site, live_server, page):
    base, found, problems = live_server.url, [], []
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    # On a connection of its own: one opened here, under Playwright's loop, would outlive the test
    # and hold the test database open until the end of the session.
    assert in_own_thread(lambda: Cert.objects.filter(code="BES").exists())
    for email, paths in _pages(site).items():
        page.context.clear_cookies()
        if email:
            page.set_viewport_size(DESKTOP)
            page.goto(f"{base}/connexion/")
            page.get_by_label("Adresse électronique").fill(email)
            page.get_by_label("Mot de passe").fill(factories.PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_load_state()
            assert "/connexion/" not in page.url, email
        for url in paths:
            page.set_viewport_size(DESKTOP)
            if url == CLAIM:
                page.goto(f"{base}/instruction/")
                page.get_by_role("button", name="Prendre le dossier suivant").click()
                page.wait_for_url(f"{base}/instruction/dossiers/**")
            else:
                page.goto(base + url)
            if url == "/api/docs/":
                _open_an_operation(page)
            found.extend(f"[{email or 'anonyme'}, bureau] {line}" for line in serious_violations(page))
            page.set_viewport_size(PHONE)
            found.extend(f"[{email or 'anonyme'}, téléphone] {line}" for line in serious_violations(page))
            if url in ("/mon-espace/", "/mon-espace/lots/"):
                _state_is_on_screen(page)
    assert found == [], "\n".join(found)
    assert problems == [], "\n".join(problems)
