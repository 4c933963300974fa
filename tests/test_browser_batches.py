"""A dealer's batch in Chromium, as issue 14's "Done when" asks: from the dealer space to the batch
page, a refused file first (the error summary takes the focus, each error leads to the file input),
then a French CSV uploaded; the progress bar reaches 100 %, a CPI is downloaded from its row and
its QR code opens the verification page, which says "authentique". No serious accessibility
violation on the list and batch pages, on a desktop and on a 375 px phone. Without JavaScript,
the same upload works and the batch page reloads itself until the batch is done.

The batch's tasks run in-process after the upload's commit without REDIS_URL (the embedded mode:
the page opens on a finished batch), on a real Celery worker with REDIS_URL and PostgreSQL (as CI
runs: the bar is seen moving). Either way the CPI is signed with one key that this process and
the worker share."""

import base64
import os
import re
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests import factories
from tests.browser import serious_violations
from tests.celery_worker import wait_until
from tests.pdf import rasterise

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def tasks_run(request, settings, tmp_path):
    """In-process tasks (no REDIS_URL) or a real worker sharing the media folder, the signing key
    and the site's URL. Requested before any row is written (the worker purges the broker)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DOCUMENT_SIGNING_KEY = base64.b64encode(
        Ed25519PrivateKey.generate().private_bytes_raw()
    ).decode()
    settings.DOCUMENT_SIGNING_KEY_FILE = ""
    if not os.environ.get("REDIS_URL"):
        return None
    start = request.getfixturevalue("start_celery_worker")
    return start(
        env={
            "MEDIA_ROOT": settings.MEDIA_ROOT,
            "DOCUMENT_SIGNING_KEY": settings.DOCUMENT_SIGNING_KEY,
            "SITE_URL": settings.SITE_URL,
        }
    )


@pytest.fixture
def dealer(tasks_run):
    """Written before the browser starts (see test_browser_login)."""
    return factories.dealer(email="garage.martin@example.fr")


def _qr_url(pdf: bytes) -> str:
    import zxingcpp

    image = rasterise(pdf, dpi=150)
    texts = [found.text for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    assert len(texts) == 1, texts
    return texts[0]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dealer_uploads_a_csv_watches_the_bar_reach_100_and_verifies_a_cpi(
    tasks_run, dealer, live_server, page, screenshots, tmp_path
):
    from playwright.sync_api import expect

    base, found, problems = live_server.url, [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{base}/connexion/")
    page.get_by_label("Adresse électronique").fill("garage.martin@example.fr")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/mon-espace/")
    page.get_by_role("link", name="Déposer un lot de véhicules neufs").click()
    expect(page).to_have_url(f"{base}/mon-espace/lots/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lots de véhicules neufs")
    screenshots.take("lots")
    found += serious_violations(page)

    # A file with two unknown columns: both errors at once, the summary focused, each a link to the input.
    wrong = tmp_path / "mauvais.csv"
    wrong.write_bytes(factories.batch_csv_french().replace(b"Marque", b"Marqeu").replace(b"PTAC", b"Couleur"))
    page.get_by_label("Fichier du lot").set_input_files(str(wrong))
    page.get_by_role("button", name="Déposer le lot").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Fichier refusé : 2 erreurs, aucun véhicule enregistré")
    expect(
        summary.get_by_role("link", name="Colonne inconnue : « Marqeu ». Vouliez-vous dire « Marque » ?")
    ).to_be_visible()
    expect(summary.get_by_role("link", name="Colonne inconnue : « Couleur ».")).to_be_visible()
    screenshots.take("lots-fichier-refuse")
    found += serious_violations(page)
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Fichier du lot")).to_be_focused()

    # The corrected file, chosen from the keyboard's focus where the summary led.
    good = tmp_path / "livraisons-decembre.csv"
    good.write_bytes(factories.batch_csv_french())
    page.get_by_label("Fichier du lot").set_input_files(str(good))
    page.get_by_role("button", name="Déposer le lot").click()
    expect(page).to_have_url(re.compile(re.escape(base) + r"/mon-espace/lots/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lot n°")
    bar = page.locator("#batch-progress")
    seen = [int(bar.get_attribute("value"))]
    screenshots.take("lot-en-cours")

    def finished() -> bool:
        value = int(bar.get_attribute("value"))
        if value != seen[-1]:
            seen.append(value)
        return value == 100 and page.locator("#batch-state").text_content().strip() == "Terminé"

    # The page polls its progress and reloads itself once the batch is done.
    wait_until(
        finished,
        90,
        interval=0.2,
        message=lambda: (
            f"the bar stopped at {seen}: {page.locator('main').inner_text()}"
            + (f"\n{tasks_run.log()[-4000:]}" if tasks_run else "")
        ),
    )
    print(f"progress seen: {seen}")
    assert seen == sorted(seen), f"the bar went back: {seen}"
    expect(page.locator("#batch-progress-text")).to_have_text("100 %")
    table = page.locator("table")
    expect(table).to_contain_text("Accepté")
    expect(table).to_contain_text("Refusé")
    expect(table).to_contain_text("CO2")
    main = page.locator("main").inner_text()
    for code in ("required_for_thermal", "vehicle.co2_g_km", "accepted", "rejected"):
        assert code not in main, f"a stored code on the batch page: {code}"
    screenshots.take("lot-termine")
    found += serious_violations(page)

    # The row's CPI, downloaded as the dealer would, and its QR code opened in the browser.
    link = table.get_by_role("link", name=re.compile(r"^CPI [A-Z]{2}-\d{3}-[A-Z]{2} \(PDF\)$"))
    plate = link.inner_text().split()[1]
    with page.expect_download() as download:
        link.click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    url = urlsplit(_qr_url(pdf))
    page.goto(
        base
        + url.path
        + (f"?{url.query}" if url.query else "")
        + (f"#{url.fragment}" if url.fragment else "")
    )
    verdict = page.get_by_role("heading", name="Document authentique")
    expect(verdict).to_contain_text("Certificat provisoire d'immatriculation")
    expect(page.locator("main")).to_contain_text(plate)
    screenshots.take("verification-cpi")

    # On a phone: the same pages, no serious violation, nothing wider than the screen.
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/mon-espace/lots/")
    screenshots.take("telephone-lots")
    found += serious_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("link", name="Lot n°").first.click()
    expect(page.locator("#batch-state")).to_have_text("Terminé")
    screenshots.take("telephone-lot")
    found += serious_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    assert found == [], "\n".join(found)
    assert problems == [], problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_upload_works_and_the_batch_page_reloads_itself(
    tasks_run, dealer, live_server, page, tmp_path
):
    from playwright.sync_api import expect

    base = live_server.url
    context = page.context.browser.new_context(java_script_enabled=False)
    nojs = context.new_page()
    nojs.goto(f"{base}/connexion/")
    nojs.get_by_label("Adresse électronique").fill("garage.martin@example.fr")
    nojs.get_by_label("Mot de passe").fill(factories.PASSWORD)
    nojs.get_by_role("button", name="Se connecter").click()
    expect(nojs).to_have_url(f"{base}/mon-espace/")
    nojs.goto(f"{base}/mon-espace/lots/")

    # The summary takes the focus without a script (autofocus).
    nojs.get_by_role("button", name="Déposer le lot").click()
    expect(nojs.locator("#error-summary")).to_be_focused()
    expect(nojs.locator("#error-summary")).to_contain_text("Choisissez le fichier du lot (CSV ou XLSX).")

    good = tmp_path / "livraisons.csv"
    good.write_bytes(factories.batch_csv_french())
    nojs.get_by_label("Fichier du lot").set_input_files(str(good))
    nojs.get_by_role("button", name="Déposer le lot").click()
    expect(nojs).to_have_url(re.compile(re.escape(base) + r"/mon-espace/lots/\d+/$"))
    # Still running, the page reloads itself every 5 s (<noscript> refresh) until the batch is done.
    expect(nojs.locator("#batch-state")).to_have_text("Terminé", timeout=60_000)
    expect(nojs.locator("#batch-progress")).to_have_attribute("value", "100")
    expect(nojs.locator("table")).to_contain_text("CPI ")
    context.close()
