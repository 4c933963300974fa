"""Accounts: who may do what. Email is the login; the role decides the space and the permissions."""

import secrets

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import BaseUserManager as DjangoBaseUserManager
from django.db import models
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
    is_active = models.BooleanField(_("actif"), default=True)
    is_staff = models.BooleanField(_("accès à l'administration"), default=False)
    date_joined = models.DateTimeField(_("inscrit le"), default=timezone.now)

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
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email


def _new_token_key() -> str:
    return secrets.token_hex(20)


class OrganisationToken(models.Model):
    """An API token of a dealer organisation, for its dealer-management software.

    Requests made with it act as the staff member who created it, so every action stays attributed.
    """

    key = models.CharField(max_length=40, unique=True, default=_new_token_key)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tokens")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("nom"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'API d'organisation")
        verbose_name_plural = _("jetons d'API d'organisation")

    def __str__(self) -> str:
        return f"{self.organisation.name}: {self.name}"
