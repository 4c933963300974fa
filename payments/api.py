"""Payment endpoints: the public fees quote, and a dossier's payments (start one, list them)."""

from datetime import date

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from dossiers import fees as fees_module
from dossiers.errors import FieldError, InvalidInput
from dossiers.geography import DEPARTMENTS
from dossiers.models import Dossier
from dossiers.validators import ELECTRIC_ENERGIES, ENERGY_CODES, GENRE_CODES
from payments import selectors, services
from payments.models import PaymentAttempt

MONEY = {"max_digits": 9, "decimal_places": 2}


class FeesQuoteInput(serializers.Serializer):
    """The parameters of dossiers.fees.compute_fees, as query parameters."""

    fiscal_power = serializers.IntegerField(
        min_value=1, max_value=999, help_text="P.6 — puissance administrative (CV)"
    )
    energy = serializers.ChoiceField(choices=sorted(ENERGY_CODES), help_text="P.3 — code énergie")
    genre = serializers.ChoiceField(choices=sorted(GENRE_CODES), help_text="J.1 — genre national")
    department = serializers.ChoiceField(
        choices=list(DEPARTMENTS), help_text="Département du titulaire (code INSEE : 01, 2A, 75, 971...)"
    )
    co2_g_km = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, help_text="V.7 — CO2 WLTP (g/km), sauf électrique"
    )
    mass_kg = serializers.IntegerField(
        min_value=1, max_value=100000, required=False, help_text="G — masse en service (kg), pour le malus"
    )
    ptac_kg = serializers.IntegerField(
        min_value=1, max_value=100000, required=False, help_text="F.2 — PTAC (kg), pour Y.2"
    )
    on = serializers.DateField(required=False, help_text="Date de délivrance (défaut : aujourd'hui)")
    first_registration_in_france = serializers.BooleanField(
        default=False, help_text="Première immatriculation en France (neuf ou import) : malus Y.3"
    )
    vehicle_age_years = serializers.FloatField(
        min_value=0, max_value=200, required=False, help_text="Âge du véhicule en années"
    )


# What each parameter accepts, said in every error about it.
QUOTE_EXPECTED = {
    "fiscal_power": "entier de 1 à 999",
    "energy": ", ".join(sorted(ENERGY_CODES)),
    "genre": ", ".join(sorted(GENRE_CODES)),
    "department": "code INSEE de département : 01, 2A, 75, 971...",
    "co2_g_km": "entier de 0 à 1000",
    "mass_kg": "entier de 1 à 100000",
    "ptac_kg": "entier de 1 à 100000",
    "on": "date AAAA-MM-JJ",
    "first_registration_in_france": "true ou false",
    "vehicle_age_years": "nombre de 0 à 200",
}


def _quote_clean(params: dict[str, str]) -> dict:
    """Clean query parameters, or InvalidInput with every error at once (unknown ones included)."""
    errors = [
        FieldError(name, "unknown_field", _("Paramètre inconnu."), ", ".join(QUOTE_EXPECTED))
        for name in params
        if name not in QUOTE_EXPECTED
    ]
    data = FeesQuoteInput(data={name: value for name, value in params.items() if name in QUOTE_EXPECTED})
    if not data.is_valid():
        for name, details in data.errors.items():
            errors += [
                FieldError(
                    name, getattr(detail, "code", "invalid"), str(detail), QUOTE_EXPECTED.get(name, "")
                )
                for detail in details
            ]
    if errors:
        raise InvalidInput(errors)
    clean = dict(data.validated_data)
    genre, energy = clean["genre"], clean["energy"]
    needed = []
    if genre in fees_module.TRANSPORT_GENRES and clean.get("ptac_kg") is None:
        needed.append(("ptac_kg", _("Le PTAC (F.2) est nécessaire au calcul de Y.2 pour ce genre.")))
    if (
        clean["first_registration_in_france"]
        and genre in fees_module.MALUS_GENRES
        and energy not in ELECTRIC_ENERGIES
    ):
        if clean.get("co2_g_km") is None:
            needed.append(("co2_g_km", _("Le CO2 (V.7) est nécessaire au calcul du malus.")))
        if clean.get("mass_kg") is None:
            needed.append(("mass_kg", _("La masse en service (G) est nécessaire au calcul du malus.")))
    if needed:
        raise InvalidInput(
            [FieldError(name, "required", message, QUOTE_EXPECTED[name]) for name, message in needed]
        )
    return clean


def fees_quote(*, params: dict[str, str]) -> tuple[fees_module.Fees, date]:
    """compute_fees over checked parameters; InvalidInput for any bad one or a date the tables lack."""
    clean = _quote_clean(params)
    on = clean.get("on") or timezone.localdate()
    try:
        fees = fees_module.compute_fees(
            fiscal_power=clean["fiscal_power"],
            energy=clean["energy"],
            genre=clean["genre"],
            co2_g_km=clean.get("co2_g_km"),
            mass_kg=clean.get("mass_kg"),
            ptac_kg=clean.get("ptac_kg"),
            department=clean["department"],
            on=on,
            first_registration_in_france=clean["first_registration_in_france"],
            vehicle_age_years=clean.get("vehicle_age_years"),
        )
    except fees_module.FeesUnavailable as exc:
        raise InvalidInput([FieldError("on", "fees_unavailable", str(exc), QUOTE_EXPECTED["on"])]) from exc
    except ValueError as exc:  # a parameter a case needs and the checks above did not foresee
        name = str(exc).split(" ", 1)[0]
        raise InvalidInput(
            [
                FieldError(
                    name, "required", _("Paramètre nécessaire à ce calcul."), QUOTE_EXPECTED.get(name, "")
                )
            ]
        ) from exc
    return fees, on


class FeesOutput(serializers.Serializer):
    y1 = serializers.DecimalField(**MONEY, help_text="Taxe régionale")
    y2 = serializers.DecimalField(**MONEY, help_text="Taxe sur les véhicules de transport")
    y3 = serializers.DecimalField(**MONEY, help_text="Malus (CO2 et masse)")
    y4 = serializers.DecimalField(**MONEY, help_text="Taxe fixe")
    y5 = serializers.DecimalField(**MONEY, help_text="Redevance d'acheminement")
    y6 = serializers.DecimalField(**MONEY, help_text="Montant total")
    notes = serializers.ListField(child=serializers.CharField(), help_text="Exonérations et hypothèses")


class FeesQuoteOutput(FeesOutput):
    on = serializers.DateField(help_text="Date de délivrance retenue")


class FeesQuoteApi(APIView):
    """Y.1–Y.6 for a vehicle, a department and a date, as dossiers.fees.compute_fees computes them.
    Public (no account needed), throttled per client like every anonymous call. Every bad
    parameter is reported at once."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    @extend_schema(parameters=[FeesQuoteInput], responses=FeesQuoteOutput, auth=[{}])
    def get(self, request):
        fees, on = fees_quote(params=request.query_params.dict())
        return Response(FeesQuoteOutput({**fees.as_dict(), "notes": list(fees.notes), "on": on}).data)


class PaymentAttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = PaymentAttempt
        fields = ("id", "amount", "provider", "status", "redirect_url", "created_at", "updated_at")
        read_only_fields = fields


class DossierPaymentsOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["not_due", "unpaid", "partial", "paid"])
    fees = FeesOutput()
    paid = serializers.DecimalField(**MONEY, help_text="Reçu par le service de paiement")
    due = serializers.DecimalField(**MONEY, help_text="Reste à payer")
    attempts = PaymentAttemptOutput(many=True)


def _payer_scoped(request, reference: str) -> Dossier:
    try:
        return selectors.dossier_for_payer(user=request.user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc


class DossierPaymentsApi(APIView):
    """A dossier's fees, what was paid and the payment attempts (GET); start a payment of what is
    left with the configured provider (POST): send the payer to `redirect_url`. Only a draft is
    paid; another user's dossier is a 404. Nothing sent here marks a dossier paid: only the
    provider's signed notification does."""

    @extend_schema(responses=DossierPaymentsOutput)
    def get(self, request, reference: str):
        dossier = _payer_scoped(request, reference)
        try:
            due = selectors.payment_due(dossier=dossier)
        except fees_module.FeesUnavailable as exc:
            raise InvalidInput(
                [FieldError("fees", "fees_unavailable", exc.public_message, str(exc))]
            ) from exc
        except ValueError as exc:  # a vehicle fact the fees need is missing (compute_fees says which)
            raise InvalidInput(
                [FieldError("fees", "fees_uncomputable", str(fees_module.FEES_UNCOMPUTABLE), str(exc))]
            ) from exc
        return Response(
            DossierPaymentsOutput(
                {
                    "status": selectors.payment_status(due=due),
                    "fees": {**due.fees.as_dict(), "notes": list(due.fees.notes)},
                    "paid": due.paid,
                    "due": due.due,
                    "attempts": selectors.payment_attempts(dossier=dossier),
                }
            ).data
        )

    @extend_schema(request=None, responses={201: PaymentAttemptOutput})
    def post(self, request, reference: str):
        attempt = services.payment_start(dossier=_payer_scoped(request, reference), actor=request.user)
        return Response(PaymentAttemptOutput(attempt).data, status=status.HTTP_201_CREATED)
