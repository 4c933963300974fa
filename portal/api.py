"""Account endpoints of the API."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from dossiers.errors import FieldError, InvalidInput


class TokenObtainApi(APIView):
    """Exchange an email and password for the user's personal API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    class TokenObtainInput(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False)

    class TokenObtainOutput(serializers.Serializer):
        token = serializers.CharField()
        email = serializers.EmailField()
        role = serializers.CharField()

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
        token, _created = Token.objects.get_or_create(user=user)
        return Response(
            self.TokenObtainOutput({"token": token.key, "email": user.email, "role": user.role}).data
        )
