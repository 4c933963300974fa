"""A dealer registers a new vehicle in Chromium from its space: the form sent empty puts the focus on
the error summary, then filled by its labelled fields (certificate codes) and sent with the keyboard
it ends on the dossier page with the plate and a CPI to download; axe-core finds no serious
violation on the form, its errors and the dossier page."""

import re

import pytest

from dossiers.models import Dossier
from tests import factories
from tests.browser import in_own_thread, serious_violations

EMAIL = "vendeur@garage.example.fr"


@pytest.fixture
def dealer_staff():
    """A dealer of an organisation that collects the taxes, and a centre for Doubs."""
    factories.CertFactory(departments=["25"])
    return factories.dealer(email=EMAIL)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dealer_registers_a_new_vehicle_and_sees_its_plate(
    live_server, dealer_staff, issuing, page, screenshots, tmp_path
):
    from playwright.sync_api import expect

    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    base = live_server.url

    page.goto(f"{base}/connexion/?next=/mon-espace/")
    page.get_by_label("Adresse électronique").fill(EMAIL)
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/mon-espace/")
    page.get_by_role("link", name="Immatriculer un véhicule neuf").click()
    page.wait_for_url(f"{base}/mon-espace/vehicules-neufs/nouveau/")
    screenshots.take("formulaire")
    assert serious_violations(page) == []

    # Sent empty: every error at once, the summary has the focus, nothing is written.
    page.get_by_role("button", name="Immatriculer le véhicule").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("E — VIN")
    expect(page.locator("#error-summary")).to_contain_text("Date de facture")
    screenshots.take("erreurs")
    assert serious_violations(page) == []
    assert not in_own_thread(Dossier.objects.exists)
    # The refused form answers 400, which Chromium logs as a failed load: expected, not a problem.
    assert problems == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    problems.clear()

    vin = factories.new_vin()
    page.get_by_label("E — VIN").fill(vin)
    page.get_by_label("D.1 — Marque").fill("RENAULT")
    page.get_by_label("D.3 — Dénomination commerciale").fill("MEGANE")
    page.get_by_label("F.2 — PTAC").fill("1850")
    page.get_by_label("G — Masse en service").fill("1350")
    page.get_by_label("J — Catégorie CE").fill("M1")
    page.get_by_label("J.1 — Genre national").fill("VP")
    page.get_by_label("P.2 — Puissance nette max").fill("103,5")
    page.get_by_label("P.3 — Énergie").fill("ES")
    page.get_by_label("P.6 — Puissance administrative").fill("7")
    page.get_by_label("S.1 — Places assises").fill("5")
    page.get_by_label("V.7 — CO2").fill("128")
    expect(page.get_by_role("radio", name="Personne physique")).to_be_checked()
    page.get_by_label("C.1 — Nom").fill("Martin")
    page.get_by_label("C.1 — Prénoms").fill("Camille")
    page.get_by_label("C.3 — Adresse").fill("12 rue des Lilas")
    page.get_by_label("C.3 — Code postal").fill("25000")
    page.get_by_label("C.3 — Commune").fill("Besançon")
    page.get_by_label("Date de facture").fill("2026-11-02")
    coc = tmp_path / "coc.pdf"
    coc.write_bytes(factories.pdf("COC"))
    page.get_by_label("Scan du certificat de conformité").set_input_files(str(coc))
    page.get_by_label("Référence du mandat").fill("MAND-2026-001")
    screenshots.take("rempli")
    page.get_by_label("Référence du mandat").press("Enter")  # the keyboard sends the form

    page.wait_for_url(re.compile(rf"{re.escape(base)}/mon-espace/dossiers/CG-\d{{4}}-\d{{7}}/"))
    dossier = in_own_thread(lambda: Dossier.objects.select_related("vehicle").get(vehicle__vin=vin))
    plate = dossier.vehicle.plate
    assert plate and dossier.organisation_id == dealer_staff.organisation_id
    expect(page.locator("#plate")).to_contain_text(plate)
    cpi = page.get_by_role("link", name=re.compile("Certificat provisoire d'immatriculation"))
    expect(cpi).to_be_visible()
    screenshots.take("dossier")
    assert serious_violations(page) == []
    with page.expect_download() as download:
        cpi.click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert problems == []
