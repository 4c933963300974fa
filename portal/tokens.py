"""API tokens: issued with a secret shown once, stored as its SHA-256 digest, expiring, revocable.

The secret is `cgp_` (personal) or `cgo_` (organisation) followed by 256 random bits; the marks
let the authentication look in the right table and let secret scanners recognise a leaked token.
Organisation tokens issued before hashing are 40 hex characters without a mark; they keep working
because their digest was stored when the plain column was dropped.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.models import ApiToken, HashedToken, Organisation, OrganisationToken, User

PERSONAL_MARK = "cgp_"
ORGANISATION_MARK = "cgo_"
# The mark and 8 random characters: enough for an owner to tell their tokens apart, and 48 bits
# of the 256 are too few to help anyone guess the rest.
PREFIX_LENGTH = 12
# last_used_at is a hint for the owner, not an audit trail: one write a minute per token at most,
# instead of one per request.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_digest(*, secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_secret_assign(*, token: HashedToken, mark: str, now: datetime | None = None) -> str:
    """Give an unsaved token a fresh secret and its expiry; the secret is returned, never stored."""
    now = now or timezone.now()
    secret = mark + secrets.token_urlsafe(32)
    token.digest = token_digest(secret=secret)
    token.prefix = secret[:PREFIX_LENGTH]
    token.created_at = now
    if token.expires_at is None:
        token.expires_at = now + timedelta(days=settings.API_TOKEN_DAYS)
    return secret


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new personal token for `user`; the secret is returned once, to be shown to them."""
    token = ApiToken(user=user, name=name)
    secret = token_secret_assign(token=token, mark=PERSONAL_MARK)
    token.save()
    return token, secret


def organisation_token_create(
    *, organisation: Organisation, created_by: User, name: str
) -> tuple[OrganisationToken, str]:
    """A new token of a dealer organisation, acting as `created_by`; the secret is returned once."""
    token = OrganisationToken(organisation=organisation, created_by=created_by, name=name)
    secret = token_secret_assign(token=token, mark=ORGANISATION_MARK)
    token.save()
    return token, secret


def api_tokens_usable(*, user: User, now: datetime | None = None) -> QuerySet[ApiToken]:
    """The owner's tokens that still open the API (neither revoked nor expired), newest first."""
    now = now or timezone.now()
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now).order_by(
        "-created_at", "-id"
    )


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the owner's usable tokens; ApiToken.DoesNotExist for anyone else's (a 404)."""
    now = timezone.now()
    token = api_tokens_usable(user=user, now=now).get(pk=token_id)
    # Conditional on still being unrevoked, so that two concurrent revocations keep the first date.
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.revoked_at = now
    return token


def token_find(*, secret: str) -> HashedToken | None:
    """The personal or organisation token whose digest matches `secret`, revoked or not."""
    digest = token_digest(secret=secret)
    if not secret.startswith(ORGANISATION_MARK):
        token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        if token is not None or secret.startswith(PERSONAL_MARK):
            return token
    return (
        OrganisationToken.objects.select_related("created_by", "organisation").filter(digest=digest).first()
    )


def token_touch(*, token: HashedToken, now: datetime | None = None) -> None:
    """Record that the token was used, at most once per LAST_USED_PRECISION."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    type(token).objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now
