"""Administration of accounts and dealer organisations, for staff."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import tokens
from portal.models import ApiToken, Organisation, OrganisationInvitation, OrganisationToken, Role, User


class AccountFormMixin:
    def clean_email(self) -> str:
        # Logins are matched on the lower-cased email (see portal.forms.LoginForm).
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict:
        # The same rules as the table's constraints, said on the field concerned.
        cleaned = super().clean()
        role = cleaned.get("role")
        if role == Role.DEALER and not cleaned.get("organisation"):
            self.add_error(
                "organisation", _("Un professionnel habilité agit pour une organisation : choisissez-la.")
            )
        if cleaned.get("is_organisation_admin") and role != Role.DEALER:
            self.add_error(
                "is_organisation_admin",
                _("Seul un professionnel habilité peut administrer une organisation."),
            )
        if role == Role.AGENT and not cleaned.get("cert"):
            self.add_error("cert", _("Un instructeur est rattaché à un CERT : choisissez-le."))
        return cleaned


class UserCreationForm(AccountFormMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "organisation", "cert")


class UserChangeForm(AccountFormMixin, DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the email as login and the role, organisation and centre of the account."""

    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = (
        "email",
        "get_full_name",
        "role",
        "organisation",
        "is_organisation_admin",
        "cert",
        "is_active",
        "is_staff",
    )
    list_filter = ("role", "is_active", "is_staff", "cert")
    list_select_related = ("organisation", "cert")
    search_fields = ("email", "first_name", "last_name")
    autocomplete_fields = ("organisation",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name")}),
        (
            _("Profil usager"),
            {
                "fields": (
                    "birth_date",
                    "birth_place",
                    "address_line",
                    "postcode",
                    "city",
                    "department",
                    "phone",
                    "franceconnect_sub",
                )
            },
        ),
        (_("Rôle"), {"fields": ("role", "organisation", "is_organisation_admin", "cert")}),
        (_("Droits"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined", "email_confirmed_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "role",
                    "organisation",
                    "cert",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined", "franceconnect_sub")


class OrganisationTokenInline(admin.TabularInline):
    model = OrganisationToken
    extra = 0
    fields = ("name", "prefix", "created_by", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_by", "created_at", "expires_at", "last_used_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        # A token is created on its own page, which shows its secret once.
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "siret", "habilitation_number", "tax_agrement", "active", "created_at")
    list_filter = ("active", "tax_agrement")
    search_fields = ("name", "siren", "siret", "habilitation_number")
    inlines = [OrganisationTokenInline]


@admin.action(description=_("Révoquer les jetons sélectionnés"))
def revoke_tokens(modeladmin, request, queryset) -> None:
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    modeladmin.message_user(request, _("%(count)d jeton(s) révoqué(s).") % {"count": count})


@admin.register(OrganisationToken)
class OrganisationTokenAdmin(admin.ModelAdmin):
    list_display = (
        "organisation",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("organisation",)
    list_select_related = ("organisation", "created_by")
    search_fields = ("organisation__name", "name", "prefix", "created_by__email")
    raw_id_fields = ("created_by",)
    autocomplete_fields = ("organisation",)
    actions = [revoke_tokens]

    def get_fields(self, request, obj=None) -> tuple[str, ...]:
        if obj is None:
            # The expiry defaults to API_TOKEN_DAYS from now; the secret is drawn on save.
            return ("organisation", "name", "created_by", "expires_at")
        return (
            "organisation",
            "name",
            "created_by",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        )

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # Who the token acts as and for whom is fixed: a different use is a different token.
        return ("organisation", "created_by", "prefix", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        secret = tokens.token_secret_assign(token=obj, mark=tokens.ORGANISATION_MARK)
        super().save_model(request, obj, form, change)
        # Only the digest is stored: this message is the one time anyone sees the secret.
        self.message_user(
            request,
            _("Jeton créé. Copiez-le maintenant, il ne sera plus jamais affiché : %(secret)s")
            % {"secret": secret},
            level=messages.WARNING,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Personal tokens are created through the API by their owner; staff can see and revoke them."""

    list_display = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "name", "prefix")
    fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at")
    actions = [revoke_tokens]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OrganisationInvitation)
class OrganisationInvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are sent and cancelled by organisation admins (portal.organisation)."""

    list_display = (
        "organisation",
        "email",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "cancelled_at",
    )
    list_filter = ("organisation",)
    list_select_related = ("organisation", "invited_by")
    search_fields = ("organisation__name", "email")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
