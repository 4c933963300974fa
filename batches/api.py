"""Batch endpoints for dealers: send a batch (JSON or a CSV/XLSX file) under an Idempotency-Key,
follow it, read its rows, download its errors, its CPIs and its acknowledgement. Another
organisation's batch is a 404."""

import json

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from batches import downloads, files, selectors, services
from batches.models import Batch, BatchState, RowStatus
from dossiers.errors import FieldError, InvalidInput
from portal.models import Role


def max_body_bytes() -> int:
    return int(getattr(settings, "BATCH_MAX_BODY_BYTES", 32 * 1024 * 1024))


class IdempotencyKeyRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "idempotency_key_required"


class _RawParser(MultiPartParser):
    """Multipart for files; a JSON body is read by the view itself (a batch's body may be larger
    than Django's form limit, and is hashed as sent)."""


class BatchCounts(serializers.Serializer):
    received = serializers.IntegerField()
    valid = serializers.IntegerField()
    rejected = serializers.IntegerField()
    plated = serializers.IntegerField()
    cpi_ready = serializers.IntegerField()
    approved = serializers.IntegerField()


class BatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=BatchState.choices)
    state_label = serializers.CharField()
    progress = serializers.IntegerField(help_text="Pourcentage : lignes vérifiées puis CPI prêts.")
    counts = BatchCounts()
    source = serializers.CharField()
    filename = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    processed_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    links = serializers.DictField(child=serializers.CharField())


def batch_output(batch: Batch, request) -> dict:
    counts = selectors.batch_counts(batch=batch)
    links = {
        "self": reverse("api-batch-detail", args=[batch.pk]),
        "rows": reverse("api-batch-rows", args=[batch.pk]),
        "errors_csv": reverse("api-batch-errors", args=[batch.pk]),
        "cpi_zip": reverse("api-batch-cpis", args=[batch.pk]),
        "acknowledgement": reverse("api-batch-acknowledgement", args=[batch.pk]),
        "page": reverse("batch-detail", args=[batch.pk]),
    }
    return {
        "id": batch.pk,
        "state": batch.state,
        "state_label": str(BatchState(batch.state).label),
        "progress": selectors.batch_progress(batch=batch, counts=counts),
        "counts": {name: counts[name] for name in BatchCounts().fields},
        "source": batch.source,
        "filename": batch.filename,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "processed_at": batch.processed_at,
        "done_at": batch.done_at,
        "links": {name: request.build_absolute_uri(url) for name, url in links.items()},
    }


def _dealer(request):
    if request.user.role != Role.DEALER:
        raise exceptions.PermissionDenied(_("Les lots sont réservés aux professionnels habilités."))


def _scoped(request, batch_id: int) -> Batch:
    try:
        return selectors.batch_get(user=request.user, batch_id=batch_id)
    except Batch.DoesNotExist as exc:
        raise exceptions.NotFound(_("Lot introuvable.")) from exc


def _json_rows(request) -> tuple[str, list[services.RowInput]]:
    """The rows of a JSON body {"vehicles": [...]} and the content's hash."""
    try:
        # Read from the stream, not request.body: Django caps the latter at its form limit.
        body = json.loads(request._request.read(max_body_bytes() + 1).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(
            [FieldError("", "json", _("Corps JSON illisible."), '{"vehicles": [...]}')]
        ) from exc
    vehicles = body.get("vehicles") if isinstance(body, dict) else None
    if not isinstance(vehicles, list):
        raise InvalidInput(
            [
                FieldError(
                    "vehicles",
                    "required",
                    _(
                        "Une liste « vehicles » est attendue, un objet par véhicule (ou un fichier dans le champ « file »)."
                    ),
                    '{"vehicles": [{"vehicle": {...}, "holder": {...}, "invoice_date": ..., "mandate_reference": ...}]}',
                )
            ]
        )
    unknown = sorted(set(body) - {"vehicles"})
    if unknown:
        raise InvalidInput(
            [
                FieldError(
                    name[:100],
                    "unknown_field",
                    _("Champ inconnu : « %(f)s ».") % {"f": name[:100]},
                    "vehicles",
                )
                for name in unknown
            ]
        )
    services.rows_count_check(len(vehicles))
    rows = [services.RowInput(row_number=n, data=item) for n, item in enumerate(vehicles, start=1)]
    return services.content_hash_json(vehicles), rows


class BatchPagination(PageNumberPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class BatchListCreateApi(APIView):
    """List the organisation's batches, or send one (JSON `{"vehicles": [...]}` up to 10,000, or a
    CSV/XLSX file in the multipart field `file`). `Idempotency-Key` is required: the same key with
    the same content returns the first batch (200), with other content 409."""

    parser_classes = [_RawParser]

    @extend_schema(responses=BatchOutput(many=True))
    def get(self, request):
        _dealer(request)
        paginator = BatchPagination()
        page = paginator.paginate_queryset(selectors.batches_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response([batch_output(batch, request) for batch in page])

    @extend_schema(
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        request={"application/json": OpenApiTypes.OBJECT, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={201: BatchOutput, 200: BatchOutput, 409: OpenApiResponse(description="Clé déjà utilisée")},
    )
    def post(self, request):
        _dealer(request)
        raw_key = request.headers.get("Idempotency-Key")
        if raw_key is None:
            raise IdempotencyKeyRequired(
                _(
                    "L'en-tête Idempotency-Key est obligatoire : une clé unique par lot (un UUID), "
                    "renvoyée telle quelle si la requête est répétée."
                )
            )
        key = services.idempotency_key_clean(raw_key)
        length = int(request.headers.get("Content-Length") or 0)
        if length > max_body_bytes():
            return Response(
                {
                    "errors": [
                        {
                            "field": "",
                            "rule": "too_large",
                            "message": _("Lot trop volumineux."),
                            "expected": _("%(n)d octets au plus") % {"n": max_body_bytes()},
                        }
                    ]
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        filename = ""
        if request.content_type.startswith("multipart/form-data"):
            upload = request.FILES.get("file")
            if upload is None:
                raise InvalidInput(
                    [FieldError("file", "required", _("Joignez le fichier du lot (CSV ou XLSX)."), "file")]
                )
            content = upload.read()
            filename = upload.name or ""
            read = files.file_rows(content=content, filename=filename)
            source = read.source
            digest = services.content_hash_file(content)
            rows = [services.RowInput(row.row_number, row.data, row.columns) for row in read.rows]
        else:
            source = "json"
            digest, rows = _json_rows(request)
        try:
            batch, created = services.batch_receive(
                user=request.user,
                idempotency_key=key,
                content_sha256=digest,
                source=source,
                rows=rows,
                filename=filename,
            )
        except services.IdempotencyConflict as exc:
            return Response(
                {
                    "errors": [
                        {
                            "field": "Idempotency-Key",
                            "rule": "idempotency_conflict",
                            "message": _(
                                "Cette clé a déjà servi pour un autre contenu (lot n° %(id)d) : "
                                "utilisez une nouvelle clé pour un nouveau lot."
                            )
                            % {"id": exc.batch.pk},
                            "expected": _("une clé jamais utilisée, ou le même contenu"),
                        }
                    ]
                },
                status=status.HTTP_409_CONFLICT,
            )
        # In the embedded mode the batch was processed in-process after the commit: answer with its
        # state now, not the one read before.
        batch.refresh_from_db()
        response = Response(
            batch_output(batch, request), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
        response["Location"] = reverse("api-batch-detail", args=[batch.pk])
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class BatchDetailApi(APIView):
    @extend_schema(responses=BatchOutput)
    def get(self, request, batch_id: int):
        return Response(batch_output(_scoped(request, batch_id), request))


class BatchRowOutput(serializers.Serializer):
    row_number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RowStatus.choices)
    vin = serializers.CharField()
    external_ref = serializers.CharField()
    errors = serializers.ListField(child=serializers.DictField())
    dossier = serializers.DictField(allow_null=True)


class BatchRowsApi(APIView):
    """Each row's outcome, in row order: accepted (its dossier, plate and CPI) or rejected (its
    errors: field, column, rule, message, expected, value). Filter with ?status=."""

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=RowStatus.values, required=False)],
        responses=BatchRowOutput(many=True),
    )
    def get(self, request, batch_id: int):
        batch = _scoped(request, batch_id)
        wanted = request.query_params.get("status")
        if wanted and wanted not in RowStatus.values:
            raise InvalidInput(
                [FieldError("status", "choice", _("Statut de ligne inconnu."), ", ".join(RowStatus.values))]
            )
        paginator = BatchPagination()
        page = paginator.paginate_queryset(
            selectors.batch_rows(batch=batch, status=wanted), request, view=self
        )
        cpis = selectors.row_cpis(rows=page)
        out = []
        for row in page:
            dossier = None
            if row.dossier_id:
                cpi = cpis.get(row.dossier_id)
                dossier = {
                    "reference": row.dossier.reference,
                    "state": row.dossier.state,
                    "plate": row.dossier.vehicle.plate,
                    "cpi": request.build_absolute_uri(
                        reverse("api-dossier-cpi", args=[row.dossier.reference])
                    )
                    if cpi
                    else None,
                }
            out.append(
                {
                    "row_number": row.row_number,
                    "status": row.status,
                    "vin": row.vin,
                    "external_ref": row.external_ref,
                    "errors": row.errors,
                    "dossier": dossier,
                }
            )
        return paginator.get_paginated_response(out)


class BatchErrorsCsvApi(APIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, batch_id: int):
        return downloads.errors_csv(batch=_scoped(request, batch_id))


class BatchCpiZipApi(APIView):
    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, batch_id: int):
        return downloads.cpi_zip(batch=_scoped(request, batch_id))


class BatchAcknowledgementApi(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, batch_id: int):
        response = downloads.acknowledgement(batch=_scoped(request, batch_id))
        if response is None:
            return Response(
                {
                    "errors": [
                        {
                            "field": "",
                            "rule": "not_ready",
                            "message": str(downloads.ACKNOWLEDGEMENT_NOT_READY),
                            "expected": "",
                        }
                    ]
                },
                status=status.HTTP_409_CONFLICT,
            )
        return response
