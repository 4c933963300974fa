"""Agent endpoints: claim, queue, decisions, lease, release, bulk approval, and the applicant's
answer to a complement request. Parse, call one service or selector, serialise.

A dossier outside the caller's scope (another centre's) is a 404; a forbidden transition a 409;
a lease the caller no longer holds a 409 with rule `lease_expired` or `lease_not_held`.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cert_workflow.review import bulk, claim, complements, decisions, selectors
from dossiers.api import DossierOutput
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Cert, Dossier
from dossiers.selectors import dossier_get
from portal.models import Role

BULK_MAX = bulk.BULK_MAX


class IsAgent(permissions.BasePermission):
    message = _("Réservé aux instructeurs d'un CERT.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.AGENT)


class IsReviewer(permissions.BasePermission):
    message = _("Réservé aux instructeurs et aux superviseurs.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in claim.REVIEWER_ROLES)


def _scoped(request, reference: str) -> Dossier:
    try:
        return dossier_get(user=request.user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc


class LeaseAwareApi(APIView):
    """Turns a lost lease into a 409 in the API's error shape."""

    def handle_exception(self, exc):
        if isinstance(exc, claim.LeaseNotHeld):
            error = {"field": "lease", "rule": exc.rule, "message": exc.message, "expected": ""}
            return Response({"errors": [error]}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


class QueueRowOutput(serializers.Serializer):
    """A slim queue row: what an agent needs to see the order, nothing personal."""

    reference = serializers.CharField()
    procedure = serializers.CharField()
    priority = serializers.IntegerField()
    queued_at = serializers.DateTimeField()
    risk = serializers.CharField(allow_null=True)
    vin = serializers.CharField(source="vehicle.vin")
    plate = serializers.CharField(source="vehicle.plate", allow_null=True)


class QueuePageOutput(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    results = QueueRowOutput(many=True)


class QueueApi(APIView):
    """The centre's queue in claim order (keyset pagination: follow `next`). Supervisors name the
    centre with `?centre=<code>`."""

    permission_classes = [IsReviewer]

    class QueueParamsSerializer(serializers.Serializer):
        cursor = serializers.CharField(required=False)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
        centre = serializers.CharField(required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("page_size", int, required=False),
            OpenApiParameter("centre", str, required=False, description="Code du CERT (superviseurs)."),
        ],
        responses=QueuePageOutput,
    )
    def get(self, request):
        params = self.QueueParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        user = request.user
        if user.role == Role.AGENT:
            cert_id = user.cert_id
        else:
            code = params.validated_data.get("centre", "")
            cert_id = Cert.objects.filter(code=code).values_list("pk", flat=True).first() if code else None
            if cert_id is None:
                codes = ", ".join(Cert.objects.order_by("code").values_list("code", flat=True))
                raise InvalidInput(
                    [FieldError("centre", "required", _("Indiquez le code du centre."), codes)]
                )
        cursor = params.validated_data.get("cursor")
        rows, next_key = selectors.queue_page(
            queryset=selectors.queue_for_cert(cert_id=cert_id),
            after=selectors.queue_cursor_decode(cursor) if cursor else None,
            size=params.validated_data["page_size"],
        )
        next_url = None
        if next_key is not None:
            query = request.query_params.copy()
            query["cursor"] = selectors.queue_cursor_encode(next_key)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"next": next_url, "results": QueueRowOutput(rows, many=True).data})


class QueueClaimApi(LeaseAwareApi):
    """Take the next dossier of the agent's centre (or get back the one they hold): 204 when the
    queue is empty. The dossier's `due_at` is the end of the agent's lease."""

    permission_classes = [IsAgent]

    @extend_schema(
        request=None, responses={200: DossierOutput, 204: OpenApiResponse(description="File vide.")}
    )
    def post(self, request):
        dossier = claim.queue_claim_next(agent=request.user)
        if dossier is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        dossier = dossier_get(user=request.user, reference=dossier.reference)
        return Response(DossierOutput(dossier).data)


@extend_schema_field(
    {
        "type": "string",
        "enum": [code for code, _label in complements.complement_items()],
        "description": "\n".join(f"* `{code}` - {label}" for code, label in complements.complement_items()),
    }
)
class ComplementItemField(serializers.CharField):
    """A code of ComplementItem: listed in the schema, checked by the decision service, so that an
    unknown item gets the same error as in the agent's form."""


class DossierDecisionApi(LeaseAwareApi):
    """Approve, reject (reason code from the list + text) or ask for a complement (items).

    Approving against a failed or missing check needs `confirm_checks` and a `message` (the audit
    keeps both); without them, a 400 with rule `checks_not_passed` and nothing changes."""

    permission_classes = [IsReviewer]

    class DecisionInputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=decisions.Decision.choices)
        reason = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=40,
            help_text="Motif de refus : " + ", ".join(decisions.REJECT_REASONS),
        )
        message = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
        confirm_checks = serializers.BooleanField(
            required=False,
            default=False,
            help_text=(
                "Pour accepter un dossier dont un contrôle automatique est non conforme ou n'a jamais "
                "été fait : true, avec `message` (20 caractères au moins) qui dit pourquoi ; sinon "
                "erreur 400 de règle `checks_not_passed`."
            ),
        )
        items = serializers.ListField(
            help_text="Pour un complément : types de pièce (DocumentKind) ou noms de champ de docs/domain/FIELDS.md.",
            child=ComplementItemField(max_length=40),
            required=False,
            default=list,
        )

    @extend_schema(request=DecisionInputSerializer, responses=DossierOutput)
    def post(self, request, reference: str):
        data = self.DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dossier = decisions.dossier_decide(
            dossier=_scoped(request, reference), agent=request.user, **data.validated_data
        )
        return Response(DossierOutput(dossier).data)


class DossierReleaseApi(LeaseAwareApi):
    """Give the dossier back to the queue, at its place."""

    permission_classes = [IsReviewer]

    @extend_schema(request=None, responses=DossierOutput)
    def post(self, request, reference: str):
        dossier = claim.dossier_release(dossier=_scoped(request, reference), agent=request.user)
        return Response(DossierOutput(dossier).data)


class LeaseOutput(serializers.Serializer):
    reference = serializers.CharField()
    due_at = serializers.DateTimeField()


class DossierLeaseApi(LeaseAwareApi):
    """Renew the caller's lease on the dossier they are reviewing."""

    permission_classes = [IsAgent]

    @extend_schema(request=None, responses=LeaseOutput)
    def post(self, request, reference: str):
        dossier = claim.lease_renew(dossier=_scoped(request, reference), agent=request.user)
        return Response(LeaseOutput(dossier).data)


class DossierComplementAnswerApi(APIView):
    """The applicant (citizen or dealer) has provided what was asked: back to the same centre."""

    @extend_schema(request=None, responses=DossierOutput)
    def post(self, request, reference: str):
        dossier = complements.complement_answer(dossier=_scoped(request, reference), actor=request.user)
        return Response(DossierOutput(dossier).data)


class BulkLineOutput(serializers.Serializer):
    reference = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["approved", "skipped"])
    reason = serializers.ChoiceField(
        choices=["", *bulk.SKIP_REASONS],
        help_text="Pourquoi le dossier est laissé de côté (vide s'il est accepté) : "
        + "; ".join(f"`{code}` {label}" for code, label in bulk.SKIP_REASONS.items()),
    )
    message = serializers.CharField(help_text="Le résultat en français.")


class BulkApproveOutput(serializers.Serializer):
    approved = serializers.IntegerField()
    skipped = serializers.IntegerField()
    results = BulkLineOutput(many=True)


class BulkApproveApi(APIView):
    """Approve the selected low-risk queued dossiers of the caller's centre now, one transaction
    each, and say for each reference whether it was approved or skipped, and why (a reference
    outside the caller's centre is `not_in_scope`, whether or not it exists elsewhere)."""

    permission_classes = [IsReviewer]

    class BulkApproveInputSerializer(serializers.Serializer):
        references = serializers.ListField(
            child=serializers.CharField(max_length=20), min_length=1, max_length=BULK_MAX
        )

    @extend_schema(request=BulkApproveInputSerializer, responses={200: BulkApproveOutput})
    def post(self, request):
        data = self.BulkApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lines = bulk.bulk_approve_report(agent=request.user, references=data.validated_data["references"])
        approved = sum(line.approved for line in lines)
        return Response(
            {
                "approved": approved,
                "skipped": len(lines) - approved,
                "results": [line.as_dict() for line in lines],
            }
        )
