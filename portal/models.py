"""Accounts: who may do what. Email is the login; the role decides the space and the permissions."""

import secrets

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import BaseUserManager as DjangoBaseUserManager
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITIZEN = "citizen", _("Usager")
    DEALER = "dealer", _("Professionnel habilité")
    AGENT = "agent", _("Instructeur CERT")
    SUPERVISOR = "supervisor", _("Superviseur")
    ADMIN = "admin", _("Administrateur")


class UserManager(DjangoBaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self.create_user(email, password, **fields)


class Organisation(models.Model):
    """A dealer (professionnel de l'automobile habilité)."""

    name = models.CharField(_("raison sociale"), max_length=200)
    siren = models.CharField(_("SIREN"), max_length=9)
    siret = models.CharField(_("SIRET"), max_length=14, unique=True)
    habilitation_number = models.CharField(_("numéro d'habilitation"), max_length=40, unique=True)
    tax_agrement = models.BooleanField(_("agréé pour encaisser les taxes"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("organisation professionnelle")
        verbose_name_plural = _("organisations professionnelles")
        constraints = [
            models.CheckConstraint(
                condition=Q(siret__startswith=models.F("siren")), name="siret_extends_siren"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.siret})"


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("adresse électronique"), unique=True)
    first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    last_name = models.CharField(_("nom"), max_length=150, blank=True)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.CITIZEN)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    cert = models.ForeignKey(
        "dossiers.Cert",
        verbose_name=_("CERT"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agents",
    )
    # May invite and remove the organisation's staff and manage its API tokens (portal.organisation).
    is_organisation_admin = models.BooleanField(_("administrateur de l'organisation"), default=False)
    is_active = models.BooleanField(_("actif"), default=True)
    is_staff = models.BooleanField(_("accès à l'administration"), default=False)
    date_joined = models.DateTimeField(_("inscrit le"), default=timezone.now)
    # Null only for a sign-up whose address is not confirmed yet (portal.accounts): it cannot log
    # in. Accounts created by staff or by FranceConnect count as confirmed from their creation.
    email_confirmed_at = models.DateTimeField(
        _("adresse confirmée le"), null=True, blank=True, default=timezone.now
    )
    # The citizen's profile (portal.accounts.profile_update), the holder step's defaults
    # (portal.selectors.profile_holder_initial). Same columns and rules as dossiers.Holder.
    birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    birth_place = models.CharField(_("lieu de naissance"), max_length=100, blank=True)
    address_line = models.CharField(_("adresse"), max_length=200, blank=True)
    postcode = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    department = models.CharField(_("département"), max_length=3, blank=True)
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    # FranceConnect's stable subject identifier of this person; set once they log in through it.
    franceconnect_sub = models.CharField(
        _("identifiant FranceConnect"), max_length=255, null=True, blank=True, unique=True, editable=False
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            # A dealer always acts for an organisation and an agent for a centre; nobody else has either.
            models.CheckConstraint(
                condition=(Q(role=Role.DEALER, organisation__isnull=False) | ~Q(role=Role.DEALER)),
                name="dealer_has_organisation",
            ),
            models.CheckConstraint(
                condition=(Q(role=Role.AGENT, cert__isnull=False) | ~Q(role=Role.AGENT)),
                name="agent_has_cert",
            ),
            models.CheckConstraint(
                condition=(Q(is_organisation_admin=False) | Q(role=Role.DEALER)),
                name="organisation_admin_is_dealer",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        if raw_password is None:
            # Django records no raw password for an unusable one (see save below).
            self._password_disabled = True

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        # Locking password login out is a password change too: the personal tokens go with it.
        self._password_disabled = True

    def save(self, *args, **kwargs) -> None:
        # set_password() leaves the raw password in `_password` until the save; a hash upgrade at
        # login clears it first (AbstractBaseUser.check_password), so a rehash of the same
        # password does not count as a change. A save that leaves the column out stores no change.
        update_fields = kwargs.get("update_fields")
        password_changed = (
            not self._state.adding
            and (self._password is not None or getattr(self, "_password_disabled", False))
            and (update_fields is None or "password" in update_fields)
        )
        if not password_changed:
            super().save(*args, **kwargs)
        else:
            with transaction.atomic(using=kwargs.get("using")):
                super().save(*args, **kwargs)
                # Whoever held a token under the old password loses it with the password.
                ApiToken.objects.filter(user=self, revoked_at__isnull=True).update(revoked_at=timezone.now())
        # Like Django's `_password`, the flag is spent by the save that follows the change.
        self._password_disabled = False


def _new_token_key() -> str:
    # Kept for migration 0001, whose plain-text `key` column used it as a default.
    return secrets.token_hex(20)


class HashedToken(models.Model):
    """An API secret stored as its SHA-256 digest: the secret itself is shown once, at creation.

    A fast digest is enough because the secret is random (256 bits), not a password: there is
    nothing to guess, and a slow password hasher would cost every API request hundreds of ms.
    """

    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("début du jeton"), max_length=16, editable=False)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    # Every token expires (settings.API_TOKEN_DAYS after its creation unless staff set a date).
    expires_at = models.DateTimeField(_("expire le"), blank=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class ApiToken(HashedToken):
    """A user's personal API token. Revoked when the user's password changes."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nom"), max_length=100)

    class Meta:
        verbose_name = _("jeton d'API personnel")
        verbose_name_plural = _("jetons d'API personnels")
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created_idx")]

    def __str__(self) -> str:
        return f"{self.user.email}: {self.name} ({self.prefix}…)"


class OrganisationToken(HashedToken):
    """An API token of a dealer organisation, for its dealer-management software.

    Requests made with it act as the staff member who created it, so every action stays attributed.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tokens")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("nom"), max_length=100)

    class Meta:
        verbose_name = _("jeton d'API d'organisation")
        verbose_name_plural = _("jetons d'API d'organisation")

    def __str__(self) -> str:
        return f"{self.organisation.name}: {self.name}"


class OrganisationInvitation(models.Model):
    """A staff member invited by an organisation's admin; the mailed link makes them its dealer once."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("adresse électronique"))
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("invité le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    accepted_at = models.DateTimeField(_("acceptée le"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("annulée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation dans une organisation")
        verbose_name_plural = _("invitations dans une organisation")

    def __str__(self) -> str:
        return f"{self.organisation.name}: {self.email}"
