"""Account endpoints of the API: obtain a personal token, list and revoke one's own tokens."""

from django.contrib.auth import authenticate
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from dossiers.errors import FieldError, InvalidInput
from portal import tokens
from portal.models import ApiToken, OrganisationToken

DEFAULT_TOKEN_NAME = "Jeton d'API"  # noqa: S105 - a label, not a secret


class ApiTokenOutput(serializers.ModelSerializer):
    """A token as its owner sees it: never the secret, only its first characters."""

    class Meta:
        model = ApiToken
        fields = ("id", "name", "prefix", "created_at", "expires_at", "last_used_at")


class NotThroughOrganisationToken(BasePermission):
    """A dealer's management software acts as its creator, but does not manage their own tokens."""

    message = _(
        "Les jetons personnels se gèrent avec un jeton personnel ou une session, pas un jeton d'organisation."
    )

    def has_permission(self, request, view) -> bool:
        return not isinstance(request.auth, OrganisationToken)


class TokenObtainApi(APIView):
    """Exchange an email and password for a new personal API token. The secret is in this answer
    only: the portal keeps its digest and cannot show it again."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    class TokenObtainInput(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False)
        name = serializers.CharField(required=False, max_length=100, default=DEFAULT_TOKEN_NAME)

    class TokenObtainOutput(serializers.Serializer):
        token = serializers.CharField(help_text="Le secret, affiché cette seule fois.")
        email = serializers.EmailField()
        role = serializers.CharField()
        id = serializers.IntegerField()
        name = serializers.CharField()
        prefix = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=TokenObtainInput, responses={200: TokenObtainOutput})
    def post(self, request):
        data = self.TokenObtainInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request, username=data.validated_data["email"].lower(), password=data.validated_data["password"]
        )
        if user is None or not user.is_active:
            raise InvalidInput(
                [
                    FieldError(
                        field="password",
                        rule="invalid_credentials",
                        message=str(_("Adresse électronique ou mot de passe incorrect.")),
                        expected=str(_("les identifiants d'un compte actif")),
                    )
                ]
            )
        token, secret = tokens.api_token_create(user=user, name=data.validated_data["name"])
        return Response(
            self.TokenObtainOutput(
                {
                    "token": secret,
                    "email": user.email,
                    "role": user.role,
                    "id": token.pk,
                    "name": token.name,
                    "prefix": token.prefix,
                    "expires_at": token.expires_at,
                }
            ).data
        )


class ApiTokenPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class ApiTokenListApi(APIView):
    """The caller's personal tokens that still open the API (neither revoked nor expired)."""

    permission_classes = [IsAuthenticated, NotThroughOrganisationToken]

    @extend_schema(responses=ApiTokenOutput(many=True))
    def get(self, request):
        paginator = ApiTokenPagination()
        page = paginator.paginate_queryset(tokens.api_tokens_usable(user=request.user), request, view=self)
        return paginator.get_paginated_response(ApiTokenOutput(page, many=True).data)


class ApiTokenDetailApi(APIView):
    permission_classes = [IsAuthenticated, NotThroughOrganisationToken]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, token_id: int):
        """Revoke one of the caller's tokens at once; anyone else's is a 404, as a missing one."""
        try:
            tokens.api_token_revoke(user=request.user, token_id=token_id)
        except ApiToken.DoesNotExist as exc:
            raise Http404 from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
