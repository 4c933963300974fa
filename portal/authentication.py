"""API authentication: a personal token (any user) or a dealer organisation's token, both as
`Authorization: Token <secret>`. Only the secret's digest is stored (see portal.tokens)."""

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from portal import tokens
from portal.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    """A personal token acts as its owner; an organisation token as the staff member who created
    it, for that organisation. Revocation and expiry take effect on the next request."""

    def authenticate_credentials(self, key):
        token = tokens.token_find(secret=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Jeton invalide."), code="token_invalid")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Jeton révoqué."), code="token_revoked")
        personal = isinstance(token, ApiToken)
        if token.is_expired:
            when = formats.date_format(timezone.localtime(token.expires_at), "SHORT_DATE_FORMAT")
            if personal:
                message = _(
                    "Jeton expiré le %(date)s : demandez-en un nouveau avec votre adresse électronique "
                    "et votre mot de passe (POST /api/v1/auth/token/)."
                )
            else:
                message = _(
                    "Jeton d'organisation expiré le %(date)s : l'administrateur de votre "
                    "organisation peut en créer un nouveau depuis son espace (/mon-espace/organisation/jetons/)."
                )
            raise exceptions.AuthenticationFailed(message % {"date": when}, code="token_expired")
        if personal:
            user = token.user
            if not user.is_active:
                raise exceptions.AuthenticationFailed(_("Compte désactivé."))
        else:
            user = token.created_by
            if not (
                user.is_active and token.organisation.active and user.organisation_id == token.organisation_id
            ):
                raise exceptions.AuthenticationFailed(_("Jeton d'organisation inactif."))
        tokens.token_touch(token=token)
        return user, token
