"""What the dossier page shows, for API clients: the tracking summary (whose turn, estimated date,
complement request, documents, timeline in French), the download of one's own uploads, and the
correction of the holder fields a complement request asks for. The complement's answer itself is
POST /api/v1/dossiers/<reference>/complement/ (cert_workflow.review.api). Another user's dossier
is a 404, as everywhere."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cert_workflow.documents.api import PdfRenderer
from cert_workflow.review import complements
from dossiers.models import Document, Dossier
from dossiers.selectors import dossier_get
from tracking import selectors
from tracking.views import EXTENSIONS


def _scoped(request, reference: str) -> Dossier:
    try:
        return dossier_get(user=request.user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc


class ItemOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Code de la pièce (type de document) ou du champ demandé.")
    label = serializers.CharField(help_text="Son libellé en français.")


class ComplementOutput(serializers.Serializer):
    message = serializers.CharField(help_text="Le message de l'agent.")
    requested_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(help_text="Date limite de réponse.")
    documents = ItemOutput(many=True, help_text="Pièces à déposer (POST …/documents/).")
    holder_fields = ItemOutput(
        many=True, help_text="Champs du titulaire à corriger (POST …/complement/corrections/)."
    )
    vehicle_fields = ItemOutput(
        many=True, help_text="Caractéristiques du véhicule à justifier par une pièce de type « other »."
    )


class TurnOutput(serializers.Serializer):
    who = serializers.ChoiceField(
        choices=["citizen", "centre", "system", ""], help_text="À qui d'agir ; vide une fois le dossier clos."
    )
    text = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)


class EstimateOutput(serializers.Serializer):
    on = serializers.DateTimeField(allow_null=True, help_text="Date estimée de décision ; null si inconnue.")
    position = serializers.IntegerField(
        allow_null=True, help_text="Place dans la file du centre (1 = le prochain)."
    )
    per_day = serializers.FloatField(allow_null=True, help_text="Décisions par jour mesurées du centre.")
    window_days = serializers.IntegerField(help_text="Jours sur lesquels les décisions sont comptées.")
    why = serializers.CharField(help_text="Pourquoi la date est inconnue, le cas échéant.")


class IssuedDocumentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField(source="get_kind_display")
    issued_at = serializers.DateTimeField()


class UploadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField(source="get_kind_display")
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    created_at = serializers.DateTimeField()


class TimelineOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    text = serializers.CharField(help_text="L'événement en français.")
    detail = serializers.CharField(help_text="Motif d'un refus ou d'une demande de complément.")
    actor = serializers.CharField()


class TrackingOutput(serializers.Serializer):
    reference = serializers.CharField()
    state_label = serializers.CharField()
    turn = TurnOutput()
    estimate = EstimateOutput()
    estimate_explanation = serializers.CharField()
    refusal_reason = serializers.CharField()
    complement = ComplementOutput(allow_null=True)
    issued_documents = IssuedDocumentOutput(many=True)
    uploads = UploadOutput(many=True)
    timeline = TimelineOutput(many=True)


class DossierTrackingApi(APIView):
    """Where the dossier is: whose turn, the estimated decision date, the open complement request,
    the documents and the timeline in French (what the dossier page shows)."""

    @extend_schema(responses=TrackingOutput)
    def get(self, request, reference: str):
        dossier = _scoped(request, reference)
        complement = selectors.complement_open_get(dossier=dossier)
        data = {
            "reference": dossier.reference,
            "state_label": dossier.get_state_display(),
            "turn": selectors.dossier_turn(dossier=dossier).__dict__,
            "estimate": selectors.dossier_estimate(dossier=dossier).__dict__,
            "estimate_explanation": selectors.estimate_explanation(),
            "refusal_reason": selectors.dossier_refusal_reason(dossier=dossier),
            "complement": None
            if complement is None
            else {
                "message": complement.request.message,
                "requested_at": complement.request.requested_at,
                "deadline": complement.request.deadline,
                "documents": [{"code": c, "label": label} for c, label in complement.documents],
                "holder_fields": [{"code": c, "label": label} for c, label in complement.holder_fields],
                "vehicle_fields": [{"code": c, "label": label} for c, label in complement.vehicle_fields],
            },
            "issued_documents": list(selectors.issued_documents_for(dossier=dossier)),
            "uploads": list(selectors.uploads_for(dossier=dossier)),
            "timeline": [entry.__dict__ for entry in selectors.dossier_timeline(dossier=dossier)],
        }
        return Response(TrackingOutput(data).data)


class UploadFileApi(APIView):
    """One of the dossier's uploaded documents, as an attachment."""

    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description="Le fichier déposé (PDF, JPEG ou PNG), en pièce jointe.",
            ),
            404: OpenApiResponse(description="Dossier ou pièce inconnus, ou hors de vos droits."),
        }
    )
    def get(self, request, reference: str, document_id: int):
        dossier = _scoped(request, reference)
        try:
            document = selectors.upload_get(dossier=dossier, document_id=document_id)
        except Document.DoesNotExist as exc:
            raise Http404 from exc
        return FileResponse(
            default_storage.open(document.file.name, "rb"),
            as_attachment=True,
            filename=f"{dossier.reference}-{document.kind.replace('_', '-')}-{document.pk}."
            f"{EXTENSIONS.get(document.content_type, 'bin')}",
            content_type=document.content_type,
        )


class CorrectionsInput(serializers.Serializer):
    fields = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text="Les champs du titulaire demandés, par leur nom (docs/domain/FIELDS.md) : "
        '{"address_line": "…"}. Un champ non demandé est refusé.',
    )


class ComplementCorrectionsApi(APIView):
    """Correct the holder fields the open complement request asks for (and only those); then
    answer with POST …/complement/."""

    @extend_schema(request=CorrectionsInput, responses={200: TrackingOutput})
    def post(self, request, reference: str):
        dossier = _scoped(request, reference)
        data = CorrectionsInput(data=request.data)
        data.is_valid(raise_exception=True)
        complements.complement_fields_correct(
            dossier=dossier, actor=request.user, values=data.validated_data["fields"]
        )
        return DossierTrackingApi().get(request, reference)
