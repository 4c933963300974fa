"""A dealer organisation's staff and API tokens, managed by its admins from the dealer space.

Every function takes the caller's organisation and looks rows up inside it only: an id of another
organisation raises the model's DoesNotExist (a 404 for the views).

An invitation is a row (who invited whom, when, until when) and a signed link naming it; following
the link once creates a dealer account of the organisation. An address that already has an account
is never invited nor converted: a citizen or an agent stays what they are.

Removing a staff member deactivates their account (a dealer acts for one organisation only): their
session ends at their next request, they can no longer log in, and their personal tokens and the
organisation tokens they created are revoked (an organisation token acts as its creator).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers.errors import FieldError, InvalidInput
from portal import tokens
from portal.accounts import site_link
from portal.mail import mail_send
from portal.models import (
    ApiToken,
    Organisation,
    OrganisationInvitation,
    OrganisationToken,
    Role,
    User,
)

INVITATION_SALT = "portal.organisation.invitation"
INVITATION_DAYS = 7


class RemovalRefused(Exception):
    """A staff member who may not be removed (oneself, the last admin); the message says why."""


# --- Staff ------------------------------------------------------------------------------------------


def organisation_staff(*, organisation: Organisation) -> QuerySet[User]:
    """The organisation's active dealers, admins first, then by name."""
    return User.objects.filter(organisation=organisation, role=Role.DEALER, is_active=True).order_by(
        "-is_organisation_admin", "last_name", "first_name", "email"
    )


def staff_remove(*, organisation: Organisation, actor: User, user_id: int) -> User:
    """Deactivate one of the organisation's staff and revoke their tokens; never oneself nor the
    last admin (RemovalRefused). User.DoesNotExist for anyone outside the organisation."""
    now = timezone.now()
    with transaction.atomic():
        # The admins are locked together so that two admins removing each other cannot both succeed.
        admins = list(
            organisation_staff(organisation=organisation)
            .filter(is_organisation_admin=True)
            .select_for_update()
        )
        member = organisation_staff(organisation=organisation).select_for_update().get(pk=user_id)
        if member.pk == actor.pk:
            raise RemovalRefused(_("Vous ne pouvez pas vous retirer vous-même de l'organisation."))
        if actor.pk not in {admin.pk for admin in admins}:
            raise RemovalRefused(_("Seul un administrateur de l'organisation peut retirer un membre."))
        if member.is_organisation_admin and len(admins) <= 1:
            raise RemovalRefused(_("L'organisation doit garder au moins un administrateur."))
        member.is_active = False
        member.is_organisation_admin = False
        member.save(update_fields=["is_active", "is_organisation_admin"])
        ApiToken.objects.filter(user=member, revoked_at__isnull=True).update(revoked_at=now)
        OrganisationToken.objects.filter(
            organisation=organisation, created_by=member, revoked_at__isnull=True
        ).update(revoked_at=now)
    return member


# --- Invitations -----------------------------------------------------------------------------------


def invitations_pending(*, organisation: Organisation) -> QuerySet[OrganisationInvitation]:
    """The organisation's invitations neither accepted, cancelled nor expired, newest first."""
    return OrganisationInvitation.objects.filter(
        organisation=organisation,
        accepted_at__isnull=True,
        cancelled_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("-created_at", "-id")


def invitation_create(*, organisation: Organisation, invited_by: User, email: str) -> OrganisationInvitation:
    """Invite `email` into the organisation and mail the link (after commit); an address that has
    an account is refused (InvalidInput). Inviting an address again replaces its pending invitation."""
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email=email).exists():
        raise InvalidInput(
            [
                FieldError(
                    "email",
                    "account_exists",
                    _(
                        "Cette adresse a déjà un compte sur le portail. Un compte existant (usager, "
                        "instructeur ou professionnel) n'est jamais transformé en compte de votre "
                        "organisation : invitez une autre adresse, professionnelle de préférence."
                    ),
                    _("une adresse sans compte sur le portail"),
                )
            ]
        )
    now = timezone.now()
    with transaction.atomic():
        invitations_pending(organisation=organisation).filter(email=email).update(cancelled_at=now)
        invitation = OrganisationInvitation.objects.create(
            organisation=organisation,
            email=email,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        transaction.on_commit(lambda: invitation_mail_send(invitation=invitation))
    return invitation


def invitation_cancel(*, organisation: Organisation, invitation_id: int) -> OrganisationInvitation:
    """Cancel a pending invitation: its link no longer works. DoesNotExist outside the organisation."""
    invitation = invitations_pending(organisation=organisation).get(pk=invitation_id)
    now = timezone.now()
    OrganisationInvitation.objects.filter(pk=invitation.pk, cancelled_at__isnull=True).update(
        cancelled_at=now
    )
    invitation.cancelled_at = now
    return invitation


def invitation_token_make(*, invitation: OrganisationInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "e": invitation.email}, salt=INVITATION_SALT, compress=True)


def invitation_mail_send(*, invitation: OrganisationInvitation) -> int:
    link = site_link(
        reverse("organisation-invitation", kwargs={"token": invitation_token_make(invitation=invitation)})
    )
    return mail_send(
        to=[invitation.email],
        template="organisation_invitation",
        context={
            "organisation": invitation.organisation,
            "invited_by": invitation.invited_by,
            "link": link,
            "days": INVITATION_DAYS,
        },
    )


@dataclass(frozen=True)
class InvitationFound:
    """What an invitation link leads to: `status` is valid, expired, used or invalid."""

    status: str
    invitation: OrganisationInvitation | None = None


def invitation_find(*, token: str, lock: bool = False) -> InvitationFound:
    """The invitation a link names, and whether it may still be accepted."""
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_DAYS * 24 * 3600)
    except signing.SignatureExpired:
        return InvitationFound("expired")
    except signing.BadSignature:
        return InvitationFound("invalid")
    if not isinstance(data, dict):
        return InvitationFound("invalid")
    rows = OrganisationInvitation.objects.select_related("organisation", "invited_by")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(pk=data.get("i"), email=data.get("e")).first()
    if invitation is None:
        return InvitationFound("invalid")
    if invitation.accepted_at is not None or invitation.cancelled_at is not None:
        return InvitationFound("used", invitation)
    if invitation.expires_at <= timezone.now() or not invitation.organisation.active:
        return InvitationFound("expired", invitation)
    if User.objects.filter(email=invitation.email).exists():
        return InvitationFound("used", invitation)
    return InvitationFound("valid", invitation)


def invitation_accept(*, token: str, first_name: str, last_name: str, password: str) -> InvitationFound:
    """Create the invited dealer account, once; the status says why nothing was created otherwise."""
    with transaction.atomic():
        found = invitation_find(token=token, lock=True)
        if found.status != "valid":
            return found
        invitation = found.invitation
        user = User(
            email=invitation.email,
            first_name=first_name,
            last_name=last_name,
            role=Role.DEALER,
            organisation=invitation.organisation,
            # The link was mailed to the address: following it proves the address.
            email_confirmed_at=timezone.now(),
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # the address got an account a moment ago
            return InvitationFound("used", invitation)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return InvitationFound("accepted", invitation)


# --- Tokens ---------------------------------------------------------------------------------------


def organisation_tokens(*, organisation: Organisation) -> QuerySet[OrganisationToken]:
    """Every token of the organisation, revoked and expired ones included, newest first."""
    return (
        OrganisationToken.objects.filter(organisation=organisation)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def organisation_token_issue(
    *, organisation: Organisation, created_by: User, name: str
) -> tuple[OrganisationToken, str]:
    """A new named token acting as `created_by`; the secret is returned once, to be shown once."""
    name = name.strip()
    if not name:
        raise InvalidInput(
            [FieldError("name", "required", _("Donnez un nom au jeton, par exemple « Logiciel DMS »."))]
        )
    return tokens.organisation_token_create(organisation=organisation, created_by=created_by, name=name)


def organisation_token_revoke(*, organisation: Organisation, token_id: int) -> OrganisationToken:
    """Revoke one of the organisation's tokens (the API refuses it from the next request);
    DoesNotExist for another organisation's. Revoking twice keeps the first date."""
    token = organisation_tokens(organisation=organisation).get(pk=token_id)
    if token.revoked_at is None:
        now = timezone.now()
        OrganisationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        token.refresh_from_db(fields=["revoked_at"])
    return token
