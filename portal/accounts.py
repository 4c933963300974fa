"""Citizen accounts: sign-up, email confirmation, profile. Every write of an account is here.

A sign-up creates a citizen whose `email_confirmed_at` is null: the login form refuses it until the
link mailed to the address is followed. Nothing here tells a visitor whether an address already
has an account: a sign-up with a known address mails its owner instead.
"""

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from dossiers.cleaning import holder_clean
from dossiers.errors import FieldError, InvalidInput
from portal.mail import mail_send
from portal.models import Role, User

logger = logging.getLogger(__name__)

CONFIRMATION_SALT = "portal.accounts.email-confirmation"
# The profile fields that are also the holder's (dossiers.Holder), under the holder's names.
PROFILE_HOLDER_NAMES = {
    "last_name": "last_name",
    "first_name": "first_names",
    "birth_date": "birth_date",
    "address_line": "address_line",
    "postcode": "postcode",
    "city": "city",
}
# What FranceConnect certifies: shown read-only on the profile of an account that used it.
FRANCECONNECT_FIELDS = ("first_name", "last_name", "birth_date", "birth_place")


def site_link(path: str) -> str:
    """An absolute link to `path` on the public site, for e-mails."""
    return f"{settings.SITE_URL.rstrip('/')}{path}"


# --- Sign-up and confirmation --------------------------------------------------------------------


def account_signup(*, email: str, password: str, first_name: str, last_name: str) -> User | None:
    """Create an unconfirmed citizen and mail the confirmation link; None when the address is taken.

    A taken address gets a mail instead (a reminder, or the link again while still unconfirmed),
    so that the page shown is the same whether or not the account existed."""
    email = User.objects.normalize_email(email).lower()
    existing = User.objects.filter(email=email).first()
    if existing is None:
        user = User(
            email=email,
            first_name=first_name,
            last_name=last_name,
            role=Role.CITIZEN,
            email_confirmed_at=None,
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # The same address signed up a moment ago, in another request: that one mails.
            return None
    if existing is not None:
        if existing.email_confirmed_at is None:
            # Nobody proved this address yet: the latest sign-up's password is the one its link
            # confirms, and earlier links stop working (confirmation_token_make), so that whoever
            # signed up first with another person's address cannot keep the account.
            existing.first_name, existing.last_name = first_name, last_name
            existing.set_password(password)
            existing.save(update_fields=["first_name", "last_name", "password"])
            transaction.on_commit(lambda: confirmation_mail_send(user=existing))
        else:
            # Hash the password all the same: the time a sign-up takes must not tell a known address.
            make_password(password)
            transaction.on_commit(lambda: _account_exists_mail_send(user=existing))
        return None
    transaction.on_commit(lambda: confirmation_mail_send(user=user))
    return user


def _password_mark(user: User) -> str:
    """A short keyed digest of the account's password hash: a link names the password it confirms."""
    return salted_hmac(CONFIRMATION_SALT, user.password).hexdigest()[:16]


def confirmation_token_make(*, user: User) -> str:
    """A signed, dated token naming the account, the address and the password it confirms."""
    return signing.dumps(
        {"u": user.pk, "e": user.email, "p": _password_mark(user)}, salt=CONFIRMATION_SALT, compress=True
    )


def confirmation_mail_send(*, user: User) -> int:
    """Mail `user` the link that confirms their address; 1 if sent."""
    link = site_link(reverse("signup-confirm", kwargs={"token": confirmation_token_make(user=user)}))
    return mail_send(
        to=[user.email],
        template="account_confirm",
        context={
            "user": user,
            "link": link,
            "days": settings.EMAIL_CONFIRMATION_DAYS,
            "site_url": settings.SITE_URL,
        },
    )


def _account_exists_mail_send(*, user: User) -> int:
    return mail_send(
        to=[user.email],
        template="account_exists",
        context={
            "user": user,
            "login_link": site_link(reverse("login")),
            "reset_link": site_link(reverse("password_reset")),
            "site_url": settings.SITE_URL,
        },
    )


@dataclass(frozen=True)
class ConfirmationResult:
    """What a confirmation link did: `status` is confirmed, already, expired or invalid."""

    status: str
    user: User | None = None


def account_email_confirm(*, token: str) -> ConfirmationResult:
    """Confirm the address a link names, once; say why a link does nothing (expired, used, forged)."""
    max_age = settings.EMAIL_CONFIRMATION_DAYS * 24 * 3600
    try:
        data = signing.loads(token, salt=CONFIRMATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        return ConfirmationResult("expired")
    except signing.BadSignature:
        return ConfirmationResult("invalid")
    if not isinstance(data, dict):
        return ConfirmationResult("invalid")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
        if user is None:
            return ConfirmationResult("invalid")
        if user.email_confirmed_at is not None:
            return ConfirmationResult("already", user)
        if data.get("p") != _password_mark(user):  # a later sign-up chose another password
            return ConfirmationResult("invalid")
        user.email_confirmed_at = timezone.now()
        user.save(update_fields=["email_confirmed_at"])
    return ConfirmationResult("confirmed", user)


def confirmation_resend(*, email: str) -> None:
    """Mail the confirmation link again if `email` is an unconfirmed account; silent otherwise."""
    user = User.objects.filter(email=email.strip().lower(), email_confirmed_at__isnull=True).first()
    if user is not None:
        confirmation_mail_send(user=user)


def account_email_confirm_by_reset(*, user: User) -> None:
    """A password reset mailed to the address proves it as well as the confirmation link."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = timezone.now()
        user.save(update_fields=["email_confirmed_at"])


# --- Profile -------------------------------------------------------------------------------------


def profile_clean(data: dict[str, Any]) -> dict[str, Any]:
    """The profile as typed, checked by the holder's own rules (dossiers.cleaning.holder_clean).

    Raises InvalidInput whose fields are the profile's (first_name, not first_names)."""
    holder = {holder_name: data.get(name) for name, holder_name in PROFILE_HOLDER_NAMES.items()}
    holder["holder_kind"] = "person"
    errors: list[FieldError] = []
    try:
        clean = holder_clean(holder, prefix="")
    except InvalidInput as exc:
        clean = {}
        back = {holder_name: name for name, holder_name in PROFILE_HOLDER_NAMES.items()}
        errors = [FieldError(back.get(e.field, e.field), e.rule, e.message, e.expected) for e in exc.errors]
    birth_place = (data.get("birth_place") or "").strip()
    if len(birth_place) > User._meta.get_field("birth_place").max_length:
        errors.append(FieldError("birth_place", "max_length", _("Texte trop long : 100 caractères au plus.")))
    if errors:
        raise InvalidInput(errors)
    result = {name: clean[holder_name] for name, holder_name in PROFILE_HOLDER_NAMES.items()}
    result["department"] = clean["department"]
    result["birth_place"] = birth_place
    return result


PROFILE_FIELDS = (*PROFILE_HOLDER_NAMES, "birth_place", "department", "phone")


def profile_update(*, user: User, data: dict[str, Any], phone: str = "") -> User:
    """Write the profile of `user` from typed `data`, all fields or none (InvalidInput).

    Fields FranceConnect certified stay as FranceConnect gave them."""
    clean = profile_clean(data)
    clean["phone"] = phone
    if user.franceconnect_sub:
        for name in FRANCECONNECT_FIELDS:
            clean.pop(name, None)
    with transaction.atomic():
        for name, value in clean.items():
            setattr(user, name, value)
        user.save(update_fields=list(clean))
    return user


# --- FranceConnect ----------------------------------------------------------------------------------


def franceconnect_identity(claims: dict[str, Any]) -> dict[str, Any]:
    """The identity fields of a FranceConnect userinfo answer, as the User stores them."""
    identity: dict[str, Any] = {
        "first_name": str(claims.get("given_name") or "")[:150],
        "last_name": str(claims.get("family_name") or "")[:150],
        "birth_place": str(claims.get("birthplace") or "")[:100],
    }
    try:
        identity["birth_date"] = date.fromisoformat(str(claims.get("birthdate") or ""))
    except ValueError:
        identity["birth_date"] = None
    return identity


def citizen_from_franceconnect(*, claims: dict[str, Any]) -> User | None:
    """The citizen FranceConnect's `sub` names, created (confirmed) or updated from the claims.

    A citizen who signed up with the same address is linked to this identity; an address that
    belongs to a staff or dealer account is refused (None): they never log in through FranceConnect."""
    sub = str(claims.get("sub") or "")
    if not sub:
        return None
    identity = franceconnect_identity(claims)
    email = User.objects.normalize_email(str(claims.get("email") or "")).lower()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(franceconnect_sub=sub).first()
        if user is None and email:
            user = User.objects.select_for_update().filter(email=email).first()
            if user is not None and (user.role != Role.CITIZEN or user.franceconnect_sub):
                logger.warning("franceconnect: address of a non-citizen or linked account refused")
                return None
        if user is None:
            if not email:
                return None
            user = User(email=email, role=Role.CITIZEN, franceconnect_sub=sub, **identity)
            user.set_unusable_password()
            user.save()
            return user
        changed = {"franceconnect_sub": sub, **identity}
        if user.email_confirmed_at is None:
            changed["email_confirmed_at"] = timezone.now()
            # Whoever signed up with this address never proved it: the password they chose must
            # not open the account FranceConnect now gives to the address's owner.
            user.set_unusable_password()
            changed["password"] = user.password
        for name, value in changed.items():
            setattr(user, name, value)
        user.save(update_fields=list(changed))
    return user
