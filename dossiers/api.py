"""Dossier endpoints: parse, call one service or selector, serialise. Another user's dossier is a 404."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dossiers import selectors, services
from dossiers.models import DocumentKind, Dossier, Procedure, State

VEHICLE_FIELDS = [
    "vin",
    "plate",
    "first_registration_date",
    "make",
    "type_variant_version",
    "cnit",
    "commercial_name",
    "max_mass_kg",
    "ptac_kg",
    "ptra_kg",
    "mass_kg",
    "empty_mass_kg",
    "eu_category",
    "genre",
    "eu_body",
    "body",
    "approval_number",
    "displacement_cm3",
    "power_kw",
    "energy",
    "fiscal_power",
    "seats",
    "standing_places",
    "co2_g_km",
    "euro_class",
]
HOLDER_FIELDS = [
    "holder_kind",
    "last_name",
    "first_names",
    "birth_date",
    "company_name",
    "siret",
    "email",
    "address_line",
    "postcode",
    "city",
    "department",
]


class VehicleOutput(serializers.Serializer):
    vin = serializers.CharField()
    plate = serializers.CharField(allow_null=True)
    first_registration_date = serializers.DateField(allow_null=True)
    make = serializers.CharField()
    type_variant_version = serializers.CharField()
    cnit = serializers.CharField()
    commercial_name = serializers.CharField()
    max_mass_kg = serializers.IntegerField(allow_null=True)
    ptac_kg = serializers.IntegerField(allow_null=True)
    ptra_kg = serializers.IntegerField(allow_null=True)
    mass_kg = serializers.IntegerField(allow_null=True)
    empty_mass_kg = serializers.IntegerField(allow_null=True)
    eu_category = serializers.CharField()
    genre = serializers.CharField()
    eu_body = serializers.CharField()
    body = serializers.CharField()
    approval_number = serializers.CharField()
    displacement_cm3 = serializers.IntegerField(allow_null=True)
    power_kw = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    energy = serializers.CharField()
    fiscal_power = serializers.IntegerField()
    seats = serializers.IntegerField(allow_null=True)
    standing_places = serializers.IntegerField(allow_null=True)
    co2_g_km = serializers.IntegerField(allow_null=True)
    euro_class = serializers.CharField()


class HolderOutput(serializers.Serializer):
    holder_kind = serializers.CharField()
    last_name = serializers.CharField()
    first_names = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    company_name = serializers.CharField()
    siret = serializers.CharField()
    email = serializers.CharField()
    address_line = serializers.CharField()
    postcode = serializers.CharField()
    city = serializers.CharField()
    department = serializers.CharField()


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
    details = serializers.JSONField()
    fees = serializers.SerializerMethodField()
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

    class DossierCreateInput(serializers.Serializer):
        procedure = serializers.ChoiceField(choices=Procedure.choices)
        vehicle = serializers.DictField(help_text="Champs du véhicule, noms de FIELDS.md (vin, make, ...).")
        holder = serializers.DictField(help_text="Champs du titulaire, noms de FIELDS.md.")
        details = serializers.DictField(required=False, help_text="Données propres à la démarche.")

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
        data = self.DossierCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        dossier = services.dossier_create(
            procedure=data.validated_data["procedure"],
            vehicle=data.validated_data["vehicle"],
            holder=data.validated_data["holder"],
            details=data.validated_data.get("details"),
            filed_by=request.user,
        )
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
        file = serializers.FileField()

    @extend_schema(responses=DocumentOutput(many=True))
    def get(self, request, reference: str):
        dossier = _scoped(request, reference)
        return Response(DocumentOutput(dossier.documents.order_by("created_at"), many=True).data)

    @extend_schema(request=DocumentUploadInput, responses={201: DocumentOutput})
    def post(self, request, reference: str):
        dossier = _scoped(request, reference)
        data = self.DocumentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_attach(
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
