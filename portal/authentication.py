"""API authentication: a personal token (any user) or a dealer organisation's token, both as
`Authorization: Token <key>`."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from portal.models import OrganisationToken


class PersonalTokenAuthentication(TokenAuthentication):
    """A user's personal token; an unknown key is left to the organisation-token check."""

    def authenticate_credentials(self, key):
        token = Token.objects.select_related("user").filter(key=key).first()
        if token is None:
            return OrganisationTokenAuthentication().authenticate_credentials(key)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Compte désactivé."))
        return token.user, token


class OrganisationTokenAuthentication(TokenAuthentication):
    """A dealer organisation's token: acts as the staff member who created it, for that organisation."""

    def authenticate_credentials(self, key):
        token = (
            OrganisationToken.objects.select_related("created_by", "organisation")
            .filter(key=key, revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Jeton invalide."))
        user = token.created_by
        if not (
            user.is_active and token.organisation.active and user.organisation_id == token.organisation_id
        ):
            raise exceptions.AuthenticationFailed(_("Jeton d'organisation inactif."))
        return user, token
