"""Public figures: a snapshot of aggregates per centre and nationally, read by /statistiques/ and by
/api/v1/stats/ (JSON or CSV), with every active centre listed and no personal data."""

import csv
import html as html_lib
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from cert_workflow.models import Assessment, Risk, StatsSnapshot
from cert_workflow.stats import services as stats
from dossiers import services, transitions
from dossiers.models import Cert, Dossier, State
from tests import factories

pytestmark = pytest.mark.django_db

CENTRE_KEYS = {
    "code",
    "name",
    "city",
    "open",
    "median_days",
    "p90_days",
    "received_per_week",
    "decided_per_week",
    "straight_through_rate",
}


def submitted(*, holder=None, vehicle=None):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, holder=holder, vehicle=vehicle)
    return services.dossier_submit(dossier=dossier, actor=owner)


def queued(cert, **kwargs):
    return transitions.dossier_transition(
        dossier=submitted(**kwargs), to=State.QUEUED, actor=None, changes={"cert": cert}
    )


def decided(cert, *, to=State.APPROVED, days_taken: float, days_ago: float = 1):
    """A dossier decided `days_ago` days ago, `days_taken` days after it was submitted."""
    agent = factories.agent(cert=cert)
    dossier = queued(cert)
    transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )
    transitions.dossier_transition(dossier=dossier, to=to, actor=agent)
    decided_at = timezone.now() - timedelta(days=days_ago)
    Dossier.objects.filter(pk=dossier.pk).update(
        decided_at=decided_at, submitted_at=decided_at - timedelta(days=days_taken)
    )
    return dossier


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([4], 0.9, 4),
        ([1, 2, 3, 4, 10], 0.5, 3),
        ([1, 2, 3, 4, 10], 0.9, 7.6),
        ([10, 1, 3, 2], 0.5, 2.5),
        ([10, 1, 3, 2], 1.0, 10),
    ],
)
def test_percentile_interpolates_like_postgresql_percentile_cont(values, fraction, expected):
    result = stats.percentile(values, fraction)
    assert result == pytest.approx(expected) if expected is not None else result is None


def test_every_active_centre_is_listed_even_without_work_and_paused_ones_are_not():
    Cert.objects.filter(code="NIM").update(active=False)

    payload = stats.stats_refresh().payload

    assert set(payload) == {"national", "centres", "computed_at"}
    active = list(Cert.objects.filter(active=True).order_by("code").values_list("code", flat=True))
    assert [c["code"] for c in payload["centres"]] == active and "NIM" not in active
    for centre in payload["centres"]:
        assert set(centre) == CENTRE_KEYS
        assert centre["open"] == 0 and centre["median_days"] is None and centre["p90_days"] is None
        assert centre["received_per_week"] == [0] * stats.WEEKS == centre["decided_per_week"]
        assert centre["straight_through_rate"] is None
    national = payload["national"]
    assert national["open"] == 0 and len(national["weeks"]) == stats.WEEKS
    assert national["weeks"] == sorted(national["weeks"])


def test_processing_times_are_the_median_and_p90_of_the_last_30_days():
    bes, par = Cert.objects.get(code="BES"), Cert.objects.get(code="PAR")
    for days_taken in (1, 2, 3, 4):
        decided(bes, days_taken=days_taken)
    decided(bes, to=State.REJECTED, days_taken=10)
    decided(bes, days_taken=50, days_ago=40)  # decided before the period: not counted
    decided(par, days_taken=6)

    payload = stats.stats_refresh().payload

    centres = {c["code"]: c for c in payload["centres"]}
    assert (centres["BES"]["median_days"], centres["BES"]["p90_days"]) == (3.0, 7.6)
    assert (centres["PAR"]["median_days"], centres["PAR"]["p90_days"]) == (6.0, 6.0)
    # Nationally: 1, 2, 3, 4, 6, 10.
    assert (payload["national"]["median_days"], payload["national"]["p90_days"]) == (3.5, 8.0)


def test_open_dossiers_and_weekly_volumes_per_centre():
    bes = Cert.objects.get(code="BES")
    queued(bes)
    queued(bes)
    submitted()  # not routed yet: counted nationally only
    decided(bes, days_taken=1, days_ago=0)

    payload = stats.stats_refresh().payload

    centre = next(c for c in payload["centres"] if c["code"] == "BES")
    assert centre["open"] == 2
    assert payload["national"]["open"] == 3
    assert centre["received_per_week"][-1] + centre["received_per_week"][-2] == 3
    assert centre["decided_per_week"][-1] == 1
    assert sum(payload["national"]["received_per_week"]) == 4
    assert sum(payload["national"]["decided_per_week"]) == 1


def test_straight_through_rate_counts_in_the_home_centre_of_the_holder():
    routes = [Assessment.Route.STRAIGHT_THROUGH] * 3 + [Assessment.Route.SAMPLED]
    for route in routes:  # postcode 25000: Doubs, home centre Besançon
        Assessment.objects.create(dossier=submitted(), risk=Risk.LOW, route=route)
    paris = submitted(holder=factories.holder_data(postcode="75011", city="Paris"))
    Assessment.objects.create(dossier=paris, risk=Risk.HIGH, route=Assessment.Route.REVIEW)

    payload = stats.stats_refresh().payload

    centres = {c["code"]: c for c in payload["centres"]}
    assert centres["BES"]["straight_through_rate"] == 0.75
    assert centres["PAR"]["straight_through_rate"] == 0.0
    assert centres["AMI"]["straight_through_rate"] is None
    assert payload["national"]["straight_through_rate"] == 0.6


def test_api_serves_json_and_a_csv_with_the_same_numbers(client):
    bes = Cert.objects.get(code="BES")
    queued(bes)
    decided(bes, days_taken=2)
    decided(bes, days_taken=5)
    stats.stats_refresh()

    payload = client.get("/api/v1/stats/").json()
    response = client.get("/api/v1/stats/?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["code"] for row in rows] == [""] + [c["code"] for c in payload["centres"]]
    weeks = payload["national"]["weeks"]
    for row, figures in zip(rows, [payload["national"], *payload["centres"]], strict=True):
        assert int(row["open"]) == figures["open"]
        for key in ("median_days", "p90_days", "straight_through_rate"):
            assert (float(row[key]) if row[key] else None) == figures[key]
        assert [int(row[f"received_{w}"]) for w in weeks] == figures["received_per_week"]
        assert [int(row[f"decided_{w}"]) for w in weeks] == figures["decided_per_week"]
    assert rows[0]["scope"] == "national" and rows[1]["scope"] == "centre"
    bes_row = next(row for row in rows if row["code"] == "BES")
    assert (bes_row["name"], bes_row["open"], bes_row["median_days"]) == ("CERT de Besançon", "1", "3.5")


def test_unknown_format_is_refused_with_what_is_expected(client):
    response = client.get("/api/v1/stats/?format=xml")
    assert response.status_code == 400
    assert response.json()["errors"][0]["expected"] == "json, csv"


def test_public_figures_carry_no_personal_data(client):
    bes = Cert.objects.get(code="BES")
    vin = factories.new_vin()
    holder = factories.holder_data(
        last_name="Zébulon-Quarantaine", first_names="Anatole", email="anatole.zq@example.fr"
    )
    dossier = queued(bes, holder=holder, vehicle=factories.vehicle_data(vin=vin))
    stats.stats_refresh()

    outputs = [
        client.get("/api/v1/stats/").content.decode(),
        client.get("/api/v1/stats/?format=csv").content.decode(),
        html_lib.unescape(client.get("/statistiques/").content.decode()),
    ]

    for text in outputs:
        for secret in ("Zébulon", "Anatole", "anatole.zq", vin, dossier.reference):
            assert secret not in text


def test_statistics_page_is_public_in_french_with_a_table_and_charts(client):
    stats.stats_refresh()

    response = client.get("/statistiques/")

    assert response.status_code == 200
    page = html_lib.unescape(response.content.decode())
    assert '<html lang="fr"' in page
    assert "La file d'attente des cartes grises, en chiffres" in page
    for cert in Cert.objects.filter(active=True):
        assert cert.name in page
    assert page.count('class="cg-chart ') == 4 and "<svg" not in page
    assert "/api/v1/stats/?format=csv" in page


def test_pages_read_the_latest_snapshot_not_live_figures(client):
    bes = Cert.objects.get(code="BES")
    stats.stats_refresh()
    queued(bes)

    before = client.get("/api/v1/stats/").json()["national"]["open"]
    stats.stats_refresh()
    after = client.get("/api/v1/stats/").json()["national"]["open"]

    assert (before, after) == (0, 1)


def test_first_request_computes_a_snapshot_when_none_exists(client):
    assert not StatsSnapshot.objects.exists()
    response = client.get("/api/v1/stats/")
    assert response.status_code == 200
    assert StatsSnapshot.objects.count() == 1
    assert len(response.json()["centres"]) == Cert.objects.filter(active=True).count()


def test_only_the_latest_few_snapshots_are_kept():
    start = timezone.now()
    for minutes in range(stats.SNAPSHOTS_KEPT + 3):
        latest = stats.stats_refresh(now=start + timedelta(minutes=5 * minutes))
    assert StatsSnapshot.objects.count() == stats.SNAPSHOTS_KEPT
    assert stats.stats_latest() == latest


def test_bar_chart_bars_stay_on_an_axis_of_four_round_marks():
    chart = stats.chart_bars(chart_id="c", title="t", values=[0, 5, None, 10], labels=["a", "b", "c", "d"])
    assert [tick["value"] for tick in chart["ticks"]] == [0, 5, 10, 15]
    assert [bar["pct"] for bar in chart["bars"]] == [0, pytest.approx(33.33), 0, pytest.approx(66.67)]
    assert [
        tick["value"] for tick in stats.chart_bars(chart_id="c", title="t", values=[1], labels=["a"])["ticks"]
    ] == [
        0,
        1,
        2,
        3,
    ]
    assert stats.axis_ticks(0, whole=True) == [0, 1, 2, 3]
    assert stats.axis_ticks(2.4, whole=False) == [0, 1, 2, 3]
    assert stats.axis_ticks(0.7, whole=False) == [0, 0.25, 0.5, 0.75]
    assert stats.axis_ticks(1234, whole=True) == [0, 500, 1000, 1500]


def test_a_rendered_chart_writes_every_value_beside_its_bar_and_the_axis_marks():
    from django.template.loader import render_to_string

    chart = stats.chart_bars(
        chart_id="chart-x",
        title="Délai médian",
        values=[2.5, None, 12],
        labels=["Besançon", "Paris", "Nîmes"],
        unit="jours",
        label_header="Centre",
    )

    html = render_to_string("cert_workflow/stats/_bar_chart.html", {"chart": chart})

    rows = re.findall(r'<th scope="row"[^>]*>([^<]+)</th>.*?class="cg-chart__value">(.*?)</td>', html, re.S)
    assert [(label, re.sub(r"<[^>]+>", "", value).strip()) for label, value in rows] == [
        ("Besançon", "2,5"),
        ("Paris", "—"),
        ("Nîmes", "12"),
    ]
    assert re.findall(r'class="cg-chart__tick[^"]*"[^>]*>([^<]+)<', html) == ["0", "5", "10", "15"]
    assert 'style="width: 16.67%"' in html  # 2.5 of 15, written for CSS, not in French
    assert '<th scope="col" class="cg-chart__value">Jours</th>' in html


def test_a_stale_snapshot_is_computed_again_by_its_reader_and_the_page_says_when(client):
    """The embedded mode has no beat: the first reader of figures older than five minutes computes
    them again, and the page gives the time they were really computed."""
    from django.utils.formats import date_format

    old = stats.stats_refresh(now=timezone.now() - timedelta(minutes=6))
    queued(Cert.objects.get(code="BES"))

    response = client.get("/statistiques/")

    fresh = stats.stats_latest()
    assert fresh.pk != old.pk and timezone.now() - fresh.computed_at < timedelta(minutes=1)
    page = html_lib.unescape(response.content.decode())
    when = date_format(timezone.localtime(fresh.computed_at), "DATETIME_FORMAT")
    assert f"Chiffres calculés le {when}." in page
    assert "dès qu'ils ont plus de 5 minutes" in page and "toutes les cinq minutes" not in page
    assert 'id="national-open">1<' in page
    assert 'id="elsewhere"' not in page  # Besançon's one is in its row


def test_the_public_page_says_which_waiting_dossiers_are_in_no_listed_centre(client):
    owner = factories.citizen()
    services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner)  # not routed yet

    page = html_lib.unescape(client.get("/statistiques/").content.decode())

    assert 'id="national-open">1<' in page
    assert "1 demande en attente qui n'est dans aucun des centres listés" in page


def test_a_fresh_snapshot_is_read_as_it_is(client):
    stats.stats_refresh(now=timezone.now() - timedelta(minutes=4))
    queued(Cert.objects.get(code="BES"))

    assert client.get("/api/v1/stats/").json()["national"]["open"] == 0
    assert StatsSnapshot.objects.count() == 1
