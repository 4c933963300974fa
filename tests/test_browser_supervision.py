"""A supervisor, in Chromium: pauses a centre only after a confirmation page that says how many
dossiers go to which centre; and the charts of the supervision and public pages are read on a
phone (375 px wide): every chart's text is at least 12 px, every value is written, and axe-core
finds no serious or critical violation."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from dossiers.models import Cert, Dossier
from tests import factories
from tests.browser import in_own_thread, serious_violations
from tests.factories import queued_dossiers

BOSS_EMAIL = "superviseur@cert.example.fr"
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def besancon_queue(nine_certs):
    """Besançon with five queued dossiers, Paris and Amiens with room; a supervisor. Written before
    the browser starts."""
    certs = {cert.code: cert for cert in nine_certs}
    Cert.objects.filter(code__in=["PAR", "AMI"]).update(daily_capacity=1000)
    factories.supervisor(email=BOSS_EMAIL)
    dossiers = queued_dossiers(
        cert=certs["BES"], owner=factories.citizen(), since=timezone.now() - timedelta(days=3), count=5
    )
    return certs["BES"], dossiers


def chart_violations(page) -> list[str]:
    """axe-core's serious and critical violations inside the charts of the page."""
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(page, context={"include": [[".cg-chart"]]}).response
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {[node['target'] for node in v['nodes'][:3]]}"
        for v in response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def _log_in(page, base: str, next_url: str) -> None:
    page.goto(f"{base}/connexion/?next={next_url}")
    page.get_by_label("Adresse électronique").fill(BOSS_EMAIL)
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}{next_url}")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_supervisor_pauses_a_centre_after_a_confirmation_that_says_what_will_move(
    live_server, besancon_queue, page, screenshots
):
    from playwright.sync_api import expect

    bes, dossiers = besancon_queue
    found: list[str] = []
    _log_in(page, live_server.url, f"/supervision/centres/{bes.code}/")

    page.get_by_role("link", name="Suspendre le centre").click()
    page.wait_for_url(f"{live_server.url}/supervision/centres/{bes.code}/suspendre/")
    screenshots.take("confirmation")
    found += serious_violations(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspendre CERT de Besançon ?")
    expect(page.locator("#pause-summary")).to_contain_text("les 5 dossiers de sa file partiront")
    table = page.get_by_role("table", name="Où iront les dossiers de la file")
    shown = {
        row.get_by_role("rowheader").inner_text(): int(row.get_by_role("cell").first.inner_text())
        for row in table.locator("tbody tr").all()
    }
    assert sum(shown.values()) == 5
    # Nothing has happened yet.
    ids = [d.pk for d in dossiers]
    assert in_own_thread(
        lambda: (Cert.objects.get(pk=bes.pk).active, Dossier.objects.filter(pk__in=ids, cert=bes).count())
    ) == (True, 5)

    page.get_by_role("button", name="Confirmer la suspension").click()
    page.wait_for_url(f"{live_server.url}/supervision/centres/{bes.code}/")
    expect(page.get_by_text("5 dossiers de sa file sont réorientés")).to_be_visible()
    expect(page.get_by_text("Suspendu : ne reçoit plus de dossiers")).to_be_visible()
    screenshots.take("suspendu")
    found += serious_violations(page)

    def outcome():
        went: dict[str, int] = {}
        for name in Dossier.objects.filter(pk__in=ids).values_list("cert__name", flat=True):
            went[name] = went.get(name, 0) + 1
        return Cert.objects.get(pk=bes.pk).active, went

    active, went = in_own_thread(outcome)
    assert not active
    assert went == shown  # where the confirmation said
    assert found == []


def _chart_text_sizes(page) -> list[tuple[str, float]]:
    """Every piece of text of every chart with its computed font size, in CSS pixels as drawn."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.cg-chart')].flatMap(chart =>
            [...chart.querySelectorAll('*')]
              .filter(el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
              .map(el => [el.textContent.trim(), parseFloat(getComputedStyle(el).fontSize)]))"""
    )


def _ticks_overlap(page) -> list[str]:
    """Axis marks whose boxes overlap another mark of the same chart, or leave the chart."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.cg-chart')].flatMap(chart => {
            const box = chart.getBoundingClientRect();
            const ticks = [...chart.querySelectorAll('.cg-chart__tick')].map(t => t.getBoundingClientRect());
            const bad = [];
            ticks.forEach((t, i) => {
              if (t.left < box.left - 0.5 || t.right > box.right + 0.5) bad.push(chart.id + ' outside');
              if (i && t.left < ticks[i - 1].right) bad.push(chart.id + ' overlap ' + i);
            });
            return bad;
        })"""
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_charts_are_legible_on_a_phone_with_every_value_written(
    live_server, besancon_queue, page, screenshots
):
    page.set_viewport_size(PHONE)
    _log_in(page, live_server.url, "/supervision/")
    found: list[str] = []
    for path, charts in (("/supervision/", 4), ("/supervision/centres/BES/", 2), ("/statistiques/", 4)):
        page.goto(f"{live_server.url}{path}")
        assert page.locator(".cg-chart").count() == charts, path
        screenshots.take(path.strip("/").replace("/", "-") or "accueil")
        sizes = _chart_text_sizes(page)
        assert sizes, path
        small = [(text, size) for text, size in sizes if size < 12]
        assert small == [], (path, small)
        assert _ticks_overlap(page) == [], path
        # Labels keep their words: none wraps over more than two lines.
        tall = page.evaluate(
            """() => [...document.querySelectorAll('.cg-chart th')]
                .filter(th => th.getBoundingClientRect().height > 45).map(th => th.textContent.trim())"""
        )
        assert tall == [], (path, tall)
        # Every bar has its value written beside it, and each chart more than two axis marks.
        for chart in page.locator(".cg-chart").all():
            values = chart.locator("tbody td.cg-chart__value").all_inner_texts()
            assert values and all(re.fullmatch(r"[\d  ,]+|—", v.strip()) for v in values), values
            assert chart.locator(".cg-chart__tick").count() > 2
        found += chart_violations(page)
    assert found == []
    # The public chart of waiting dossiers shows Besançon's five.
    waiting = page.locator("#chart-open tbody tr", has_text="Besançon").locator("td.cg-chart__value")
    assert waiting.inner_text().strip() == "5"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_supervisor_moves_dossiers_after_a_confirmation_that_says_how_many_go_where(
    live_server, besancon_queue, page, screenshots
):
    from playwright.sync_api import expect

    bes, dossiers = besancon_queue
    ids = [d.pk for d in dossiers]
    _log_in(page, live_server.url, f"/supervision/centres/{bes.code}/")

    page.get_by_label("Vers le centre").select_option(value="PAR")
    page.get_by_label("Nombre de dossiers (les plus anciens de la file)").fill("2")
    page.get_by_role("button", name="Voir ce qui sera déplacé").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Déplacer des dossiers de CERT de Besançon vers CERT de Paris ?"
    )
    expect(page.locator("#move-summary")).to_contain_text(
        "2 dossiers, les plus anciens de la file, partiront de CERT de Besançon vers CERT de Paris."
    )
    screenshots.take("confirmation")
    assert serious_violations(page) == []
    assert in_own_thread(lambda: Dossier.objects.filter(pk__in=ids, cert__code="PAR").count()) == 0

    page.get_by_role("button", name="Confirmer le déplacement").click()
    page.wait_for_url(f"{live_server.url}/supervision/centres/{bes.code}/")
    expect(
        page.get_by_text("2 dossier(s) déplacé(s) de CERT de Besançon vers CERT de Paris.")
    ).to_be_visible()
    moved = in_own_thread(
        lambda: list(Dossier.objects.filter(pk__in=ids, cert__code="PAR").values_list("pk", flat=True))
    )
    assert sorted(moved) == sorted(ids[:2])  # the two oldest
