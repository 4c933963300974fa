"""Dossier endpoints: parse, call one service or selector, serialise. Another user's dossier is a 404."""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dossiers import documents, register, selectors, services
from dossiers.cleaning import (
    DOSSIER_INPUT_FIELDS,
    PROCEDURE_FACTS,
    SALE_FIELDS,
    SALE_MILEAGE_RANGE,
    VEHICLE_INT_RANGES,
    VEHICLE_PROCEDURES,
)
from dossiers.models import (
    HOLDER_FIELDS,
    VEHICLE_FIELDS,
    DocumentKind,
    Dossier,
    Holder,
    Procedure,
    Sale,
    State,
    Vehicle,
)


class VehicleInput(serializers.ModelSerializer):
    """The vehicle's fields, listed from the model. Documents types only: the values are checked by
    dossiers.cleaning.vehicle_clean, the one set of rules shared with forms and batch rows."""

    class Meta:
        model = Vehicle
        fields = VEHICLE_FIELDS
        # The model's uniqueness is not an input rule: a registered vehicle is found by its VIN.
        # The bounds documented are dossiers.cleaning's own (VEHICLE_INT_RANGES), not the column's.
        extra_kwargs = {
            "vin": {"validators": []},
            # Documented for its format; an input plate is refused (plate_assigned): plates come
            # from the national series only.
            "plate": {"validators": []},
            **{
                name: {"min_value": low, "max_value": high}
                for name, (low, high) in VEHICLE_INT_RANGES.items()
            },
        }


class HolderInput(serializers.ModelSerializer):
    """The holder's fields, listed from the model; checked by dossiers.cleaning.holder_clean."""

    class Meta:
        model = Holder
        fields = HOLDER_FIELDS
        extra_kwargs = {
            "department": {"required": False, "help_text": "Déduit du code postal s'il est absent."}
        }


class SaleInput(serializers.ModelSerializer):
    """The sale (cerfa 15776); checked by dossiers.cleaning.sale_clean."""

    class Meta:
        model = Sale
        fields = SALE_FIELDS
        extra_kwargs = {
            "sold_at": {"required": True, "allow_null": False},
            # dossiers.cleaning's bounds, not the column's.
            "mileage_km": {"min_value": SALE_MILEAGE_RANGE[0], "max_value": SALE_MILEAGE_RANGE[1]},
            "code_de_cession": {"help_text": "Espaces et tirets ignorés, mis en majuscules."},
        }


class TitleInput(serializers.Serializer):
    """The proof of title (dossiers.register): the current certificate's plate (A) and numéro de
    formule. A change of owner may give the seller's code de cession instead of the formule number."""

    plate = serializers.CharField(max_length=9, help_text="A — immatriculation, AA-123-AA")
    formule_number = serializers.CharField(
        max_length=20, required=False, help_text="Numéro de formule du certificat en cours, ex. 2026AB12345"
    )


# What the schema says of the facts a dealer gives for a new vehicle (docs/domain/FIELDS.md).
FACT_HELP = {
    "invoice_date": "Date de facture, AAAA-MM-JJ ou JJ/MM/AAAA, au plus tard aujourd'hui. "
    "Obligatoire pour un professionnel (première immatriculation) ; un usager ne l'envoie pas.",
    "mandate_reference": "Référence du mandat (cerfa 13757), 60 caractères au plus. "
    "Obligatoire pour un professionnel (première immatriculation) ; un usager ne l'envoie pas.",
    "external_ref": "Référence interne du professionnel pour ce véhicule, 60 caractères au plus, "
    "facultative.",
}


def _create_input(procedure: str) -> type[serializers.ModelSerializer]:
    """The create input of one procedure: procedure, its vehicle (first registration and import
    only, never with a plate) or its proof of title, the holder and its own facts."""
    facts = PROCEDURE_FACTS[procedure]
    declared: dict[str, Any] = {
        "procedure": serializers.ChoiceField(choices=[(procedure, Procedure(procedure).label)]),
        "holder": HolderInput(),
    }
    inputs = [name for name in DOSSIER_INPUT_FIELDS if name != "vehicle"]
    if procedure in VEHICLE_PROCEDURES:
        declared["vehicle"] = VehicleInput()
        inputs.insert(1, "vehicle")
    if "title" in facts:
        declared["title"] = TitleInput()
    if "sale" in facts:
        declared["sale"] = SaleInput(required=False)
    extra_kwargs = {name: {"help_text": FACT_HELP[name]} for name in facts if name in FACT_HELP}
    meta = type("Meta", (), {"model": Dossier, "fields": (*inputs, *facts), "extra_kwargs": extra_kwargs})
    name = "".join(part.title() for part in procedure.split("_")) + "CreateInput"
    doc = f"Dépôt d'un dossier « {procedure} » : véhicule, titulaire et données propres à la démarche."
    return type(name, (serializers.ModelSerializer,), {**declared, "Meta": meta, "__doc__": doc})


# One documented input per procedure; the schema tells them apart by `procedure`.
CREATE_INPUTS = {procedure: _create_input(procedure) for procedure in Procedure.values}
DossierCreateInput = PolymorphicProxySerializer(
    component_name="DossierCreateInput",
    serializers=CREATE_INPUTS,
    resource_type_field_name="procedure",
)


class VehicleOutput(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = VEHICLE_FIELDS
        read_only_fields = VEHICLE_FIELDS


class HolderOutput(serializers.ModelSerializer):
    class Meta:
        model = Holder
        fields = HOLDER_FIELDS
        read_only_fields = HOLDER_FIELDS


class SaleOutput(serializers.ModelSerializer):
    class Meta:
        model = Sale
        fields = SALE_FIELDS
        read_only_fields = SALE_FIELDS


class PaymentStatusOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["not_due", "unpaid", "partial", "paid"])
    paid = serializers.DecimalField(max_digits=9, decimal_places=2)


class FeesOutput(serializers.Serializer):
    y1 = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    y2 = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    y3 = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    y4 = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    y5 = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    y6 = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)


class DossierSummaryOutput(serializers.Serializer):
    """A slim row for lists: no nested holder, no procedure data."""

    reference = serializers.CharField()
    procedure = serializers.CharField()
    state = serializers.CharField()
    vin = serializers.CharField(source="vehicle.vin")
    plate = serializers.CharField(source="vehicle.plate", allow_null=True)
    cert = serializers.CharField(source="cert.code", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DossierOutput(serializers.Serializer):
    reference = serializers.CharField()
    procedure = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    vehicle = VehicleOutput()
    holder = HolderOutput()
    holder_is_owner = serializers.BooleanField()
    validity_until = serializers.DateField(allow_null=True)
    duplicate_reason = serializers.CharField()
    # A dealer's first registration (null or empty otherwise): the sale's invoice, the holder's
    # mandate (cerfa 13757) and the dealer's own reference of the vehicle.
    invoice_date = serializers.DateField(allow_null=True)
    mandate_reference = serializers.CharField()
    external_ref = serializers.CharField()
    sale = SaleOutput(allow_null=True)
    mentions = serializers.SerializerMethodField()
    fees = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()
    cert = serializers.CharField(source="cert.code", allow_null=True, default=None)
    organisation = serializers.CharField(source="organisation.siret", allow_null=True, default=None)
    priority = serializers.IntegerField()
    due_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    queued_at = serializers.DateTimeField(allow_null=True)
    review_started_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    issued_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=FeesOutput)
    def get_fees(self, dossier: Dossier) -> dict:
        return FeesOutput(dossier).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_mentions(self, dossier: Dossier) -> list[str]:
        """Z.1–Z.4 as recorded by the register or an agent."""
        return [mention.text for mention in dossier.mentions.order_by("position")]

    @extend_schema_field(PaymentStatusOutput)
    def get_payment(self, dossier: Dossier) -> dict:
        return PaymentStatusOutput(selectors.dossier_payment(dossier=dossier)).data


def _scoped(request, reference: str) -> Dossier:
    try:
        return selectors.dossier_get(user=request.user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc


class DossierPagination(CursorPagination):
    """Keyset pagination: stable under inserts, no OFFSET scans on large tables."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class DossierListCreateApi(APIView):
    """List the caller's dossiers, or create a draft."""

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=State.values, required=False)],
        responses=DossierSummaryOutput(many=True),
    )
    def get(self, request):
        queryset = selectors.dossiers_for_user(user=request.user)
        state = request.query_params.get("state")
        if state:
            if state not in State.values:
                raise serializers.ValidationError({"state": [f"Attendu : {', '.join(State.values)}."]})
            queryset = queryset.filter(state=state)
        paginator = DossierPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(DossierSummaryOutput(page, many=True).data)

    @extend_schema(request=DossierCreateInput, responses={201: DossierOutput})
    def post(self, request):
        # The inputs above document the fields; dossier_create checks them with dossiers.cleaning
        # and answers every error at once, unknown fields included.
        data = request.data if isinstance(request.data, dict) else {}

        def create() -> Dossier:
            return services.dossier_create(
                procedure=data.get("procedure"),
                vehicle=data.get("vehicle"),
                holder=data.get("holder"),
                facts={key: value for key, value in data.items() if key not in DOSSIER_INPUT_FIELDS},
                filed_by=request.user,
            )

        title = data.get("title")
        if isinstance(title, dict):
            # A title proof (formule number or code de cession) is limited as on the web form.
            dossier = register.title_proof_limited(user=request.user, plate=title.get("plate"), prove=create)
        else:
            dossier = create()
        return Response(DossierOutput(dossier).data, status=status.HTTP_201_CREATED)


class DossierDetailApi(APIView):
    @extend_schema(responses=DossierOutput)
    def get(self, request, reference: str):
        return Response(DossierOutput(_scoped(request, reference)).data)


class DossierSubmitApi(APIView):
    """Submit a draft: fees are computed and the automatic checks start. 409 if not a draft."""

    @extend_schema(request=None, responses=DossierOutput)
    def post(self, request, reference: str):
        dossier = services.dossier_submit(dossier=_scoped(request, reference), actor=request.user)
        return Response(DossierOutput(dossier).data)


class DossierWithdrawApi(APIView):
    """The applicant abandons the dossier. 409 once it is decided."""

    class DossierWithdrawInput(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema(request=DossierWithdrawInput, responses=DossierOutput)
    def post(self, request, reference: str):
        data = self.DossierWithdrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        dossier = services.dossier_withdraw(
            dossier=_scoped(request, reference),
            actor=request.user,
            reason=data.validated_data.get("reason", ""),
        )
        return Response(DossierOutput(dossier).data)


class DocumentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    original_name = serializers.CharField()
    created_at = serializers.DateTimeField()


class DossierDocumentsApi(APIView):
    """Upload a document (PDF, JPEG or PNG) to a draft or in answer to a complement request."""

    parser_classes = [MultiPartParser, FormParser]

    class DocumentUploadInput(serializers.Serializer):
        kind = serializers.ChoiceField(choices=DocumentKind.choices)
        # Empty files reach the service, which refuses them with the same rule as every other check.
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(responses=DocumentOutput(many=True))
    def get(self, request, reference: str):
        dossier = _scoped(request, reference)
        return Response(DocumentOutput(dossier.documents.order_by("created_at"), many=True).data)

    @extend_schema(request=DocumentUploadInput, responses={201: DocumentOutput})
    def post(self, request, reference: str):
        dossier = _scoped(request, reference)
        data = self.DocumentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = documents.document_attach(
            dossier=dossier,
            kind=data.validated_data["kind"],
            uploaded=data.validated_data["file"],
            actor=request.user,
        )
        return Response(DocumentOutput(document).data, status=status.HTTP_201_CREATED)


class EventOutput(serializers.Serializer):
    action = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor_role = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class DossierEventsApi(APIView):
    """The dossier's history (who did what, when, why)."""

    @extend_schema(responses=EventOutput(many=True))
    def get(self, request, reference: str):
        dossier = _scoped(request, reference)
        return Response(EventOutput(selectors.dossier_events(dossier=dossier), many=True).data)
