"""Public figures: /statistiques/ (a page for anyone) and /api/v1/stats/ (JSON, or CSV with ?format=csv).

Both read the latest snapshot written by the periodic task; a snapshot older than STALE_AFTER is
computed again by the request that finds it (the embedded mode has no beat), and the page says when
its figures were computed.
The API is a plain Django view: DRF reserves the `format` query parameter for its own renderers.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cert_workflow.stats.services import STALE_AFTER, chart_bars, stats_csv, stats_current

# The snapshot changes every few minutes: caches may keep an answer for one.
MAX_AGE = 60


@require_GET
def stats_page(request: HttpRequest) -> HttpResponse:
    snapshot = stats_current()
    payload = snapshot.payload
    national, centres = payload["national"], payload["centres"]
    weeks = [parse_date(week) for week in national["weeks"]]
    week_labels = [week.strftime("%d/%m") for week in weeks]
    charts = [
        chart_bars(
            chart_id="chart-open",
            title=_("Dossiers en attente de décision par centre"),
            values=[centre["open"] for centre in centres],
            labels=[centre["city"] for centre in centres],
            label_header=_("Centre"),
            value_header=_("Demandes"),
        ),
        chart_bars(
            chart_id="chart-median",
            title=_("Délai médian de traitement par centre (jours, 30 derniers jours)"),
            values=[centre["median_days"] for centre in centres],
            labels=[centre["city"] for centre in centres],
            unit=_("jours"),
            label_header=_("Centre"),
        ),
        chart_bars(
            chart_id="chart-received",
            title=_("Dossiers reçus par semaine, tous centres (semaine commençant le)"),
            values=national["received_per_week"],
            labels=week_labels,
            label_header=_("Semaine du"),
            value_header=_("Reçus"),
        ),
        chart_bars(
            chart_id="chart-decided",
            title=_("Dossiers décidés par semaine, tous centres (semaine commençant le)"),
            values=national["decided_per_week"],
            labels=week_labels,
            label_header=_("Semaine du"),
            value_header=_("Décidés"),
        ),
    ]
    response = render(
        request,
        "cert_workflow/stats/page.html",
        {
            "national": national,
            "centres": centres,
            "charts": charts,
            "computed_at": parse_datetime(payload["computed_at"]),
            "stale": timezone.now() - snapshot.computed_at > STALE_AFTER,
            # Waiting but in no listed centre: not routed yet, or in a paused centre's queue.
            "elsewhere": national["open"] - sum(centre["open"] for centre in centres),
            "stale_minutes": int(STALE_AFTER.total_seconds() // 60),
            "weeks": weeks,
        },
    )
    patch_cache_control(response, max_age=MAX_AGE)
    return response


@require_GET
def stats_api(request: HttpRequest) -> HttpResponse:
    payload = stats_current().payload
    wanted = request.GET.get("format", "json")
    if wanted == "csv":
        response = HttpResponse(stats_csv(payload=payload), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="statistiques-carte-grise.csv"'
    elif wanted == "json":
        response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    else:
        return JsonResponse(
            {
                "errors": [
                    {
                        "field": "format",
                        "rule": "choice",
                        "message": _("Format inconnu."),
                        "expected": "json, csv",
                    }
                ]
            },
            status=400,
        )
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    return response
