"""Supervision pages: the national view, one page per centre, and the supervisor's actions on a centre.

Pausing a centre and moving dossiers are never done in one click: each first shows what it will do
(cert_workflow.supervision.previews) and acts only on the confirmation's POST.

Reads go through cert_workflow.supervision.selectors; every action is one of routing's services (audited
there). Supervisors and administrators only.
"""

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cert_workflow.stats.services import chart_bars
from cert_workflow.supervision import actions
from cert_workflow.supervision.previews import move_preview, pause_preview
from cert_workflow.supervision.selectors import supervision_centre, supervision_overview
from dossiers.errors import InvalidInput
from dossiers.models import Cert
from portal.models import Role

SUPERVISION_ROLES = (Role.SUPERVISOR, Role.ADMIN)
MOVE_MAX = 10_000


def supervisor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in supervisors and administrators only; anyone else signed in gets a 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.role not in SUPERVISION_ROLES:
            raise PermissionDenied(_("Cette page est réservée aux superviseurs."))
        return view(request, *args, **kwargs)

    return wrapped


class CapacityForm(forms.Form):
    daily_capacity = forms.IntegerField(
        label=gettext_lazy("Capacité journalière (dossiers par jour)"),
        min_value=1,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
    )


class MoveForm(forms.Form):
    to_cert = forms.ModelChoiceField(
        label=gettext_lazy("Vers le centre"),
        queryset=Cert.objects.filter(active=True).order_by("code"),
        to_field_name="code",
        empty_label=gettext_lazy("Choisir un centre"),
        widget=forms.Select(attrs={"class": "fr-select"}),
    )
    count = forms.IntegerField(
        label=gettext_lazy("Nombre de dossiers (les plus anciens de la file)"),
        min_value=1,
        max_value=MOVE_MAX,
        widget=forms.NumberInput(attrs={"class": "fr-input"}),
    )

    def __init__(self, *args, from_cert: Cert, **kwargs):
        super().__init__(*args, **kwargs)
        self.from_cert = from_cert
        self.fields["to_cert"].queryset = (
            Cert.objects.filter(active=True).exclude(pk=from_cert.pk).order_by("code")
        )


@supervisor_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    data = supervision_overview()
    centres, national = data["centres"], data["national"]
    labels = [c.cert.city for c in centres]
    charts = [
        chart_bars(
            chart_id="chart-waiting",
            title=_("Dossiers en attente de décision par centre"),
            values=[c.waiting for c in centres],
            labels=labels,
            label_header=_("Centre"),
            value_header=_("Dossiers"),
        ),
        chart_bars(
            chart_id="chart-wait",
            title=_("Attente projetée par centre (jours) : dossiers en file et en instruction ÷ capacité"),
            values=[c.wait_days for c in centres],
            labels=labels,
            unit=_("jours"),
            label_header=_("Centre"),
        ),
        chart_bars(
            chart_id="chart-wait-observed",
            title=_("Attente projetée au rythme des décisions des 14 derniers jours (jours)"),
            values=[c.observed_wait_days for c in centres],
            labels=labels,
            unit=_("jours"),
            label_header=_("Centre"),
        ),
        _decisions_chart(national.decisions_per_day, data["days"], _("Décisions par jour, tous centres")),
    ]
    return render(
        request,
        "cert_workflow/supervision/overview.html",
        {"national": national, "centres": centres, "charts": charts},
    )


@supervisor_required
@require_GET
def centre(request: HttpRequest, code: str) -> HttpResponse:
    cert = get_object_or_404(Cert, code=code)
    return _centre_page(request, cert)


@supervisor_required
@require_POST
def centre_capacity(request: HttpRequest, code: str) -> HttpResponse:
    cert = get_object_or_404(Cert, code=code)
    form = CapacityForm(request.POST)
    if not form.is_valid():
        return _centre_page(request, cert, capacity_form=form, status=400)
    capacity = form.cleaned_data["daily_capacity"]
    if not _run(request, lambda: actions.cert_set_capacity(cert=cert, capacity=capacity, actor=request.user)):
        return _back(cert)
    messages.success(
        request,
        _("Capacité de %(centre)s fixée à %(capacity)d dossiers par jour.")
        % {"centre": cert.name, "capacity": capacity},
    )
    return _back(cert)


@supervisor_required
@require_http_methods(["GET", "POST"])
def centre_pause(request: HttpRequest, code: str) -> HttpResponse:
    """GET: what a pause would do (how many dossiers go to which centre), to confirm. POST with the
    confirmation: the pause. A POST without it shows the confirmation instead of acting."""
    cert = get_object_or_404(Cert, code=code)
    if request.method == "GET" or request.POST.get("confirmed") != "1" or not cert.active:
        if not cert.active:
            return _back(cert)
        return render(
            request,
            "cert_workflow/supervision/pause_confirm.html",
            {"cert": cert, "plan": pause_preview(cert=cert)},
        )
    result: list[int] = []
    if _run(request, lambda: result.append(actions.cert_pause(cert=cert, actor=request.user))):
        messages.success(
            request,
            ngettext(
                "%(centre)s est suspendu : %(n)d dossier de sa file est réorienté vers les autres centres.",
                "%(centre)s est suspendu : %(n)d dossiers de sa file sont réorientés vers les autres centres.",
                result[0],
            )
            % {"centre": cert.name, "n": result[0]},
        )
    return _back(cert)


@supervisor_required
@require_POST
def centre_resume(request: HttpRequest, code: str) -> HttpResponse:
    cert = get_object_or_404(Cert, code=code)
    if _run(request, lambda: actions.cert_resume(cert=cert, actor=request.user)):
        messages.success(request, _("%(centre)s reçoit de nouveau des dossiers.") % {"centre": cert.name})
    return _back(cert)


@supervisor_required
@require_POST
def centre_move(request: HttpRequest, code: str) -> HttpResponse:
    cert = get_object_or_404(Cert, code=code)
    form = MoveForm(request.POST, from_cert=cert)
    if not form.is_valid():
        return _centre_page(request, cert, move_form=form, status=400)
    to_cert, count = form.cleaned_data["to_cert"], form.cleaned_data["count"]
    if request.POST.get("confirmed") != "1":
        return render(
            request,
            "cert_workflow/supervision/move_confirm.html",
            {"cert": cert, "plan": move_preview(source=cert, target=to_cert, count=count)},
        )
    result: list = []
    if not _run(
        request,
        lambda: result.append(
            actions.dossiers_move_oldest(from_cert=cert, to_cert=to_cert, count=count, actor=request.user)
        ),
    ):
        return _back(cert)
    moved = result[0]
    moved = len(moved) if isinstance(moved, list | tuple | set) else moved
    messages.success(
        request,
        _("%(moved)s dossier(s) déplacé(s) de %(source)s vers %(target)s.")
        % {"moved": moved if moved is not None else count, "source": cert.name, "target": to_cert.name},
    )
    return _back(cert)


def _run(request: HttpRequest, action: Callable[[], object]) -> bool:
    """Run a supervisor action; a refusal (InvalidInput) becomes an error message on the page."""
    try:
        action()
    except InvalidInput as exc:
        for error in exc.errors:
            messages.error(request, error.message)
        return False
    return True


def _back(cert: Cert) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("supervision-centre", args=[cert.code]))


def _centre_page(
    request: HttpRequest,
    cert: Cert,
    *,
    capacity_form: CapacityForm | None = None,
    move_form: MoveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    data = supervision_centre(cert=cert)
    figures = data["centre"]
    charts = [
        _decisions_chart(figures.decisions_per_day, data["days"], _("Décisions par jour")),
        chart_bars(
            chart_id="chart-states",
            title=_("Dossiers ouverts par état"),
            values=[count for _state, _label, count in figures.state_counts],
            labels=[str(label) for _state, label, _count in figures.state_counts],
            label_header=_("État"),
            value_header=_("Dossiers"),
        ),
    ]
    context = {
        "cert": cert,
        "figures": figures,
        "charts": charts,
        "capacity_form": capacity_form or CapacityForm(initial={"daily_capacity": cert.daily_capacity}),
        "move_form": move_form or MoveForm(from_cert=cert),
    }
    return render(request, "cert_workflow/supervision/centre.html", context, status=status)


def _decisions_chart(values: list[int], days: list, title: str) -> dict:
    return chart_bars(
        chart_id="chart-decisions",
        title=title,
        values=values,
        labels=[day.strftime("%d/%m") for day in days],
        label_header=_("Jour"),
        value_header=_("Décisions"),
    )
