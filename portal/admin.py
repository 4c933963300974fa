"""Administration of accounts and dealer organisations, for staff."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation, OrganisationToken, Role, User


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
    list_display = ("email", "get_full_name", "role", "organisation", "cert", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff", "cert")
    list_select_related = ("organisation", "cert")
    search_fields = ("email", "first_name", "last_name")
    autocomplete_fields = ("organisation",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name")}),
        (_("Rôle"), {"fields": ("role", "organisation", "cert")}),
        (_("Droits"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
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
    readonly_fields = ("last_login", "date_joined")


class OrganisationTokenInline(admin.TabularInline):
    model = OrganisationToken
    extra = 0
    fields = ("name", "created_by", "created_at", "revoked_at")
    readonly_fields = ("created_by", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        # A token is created by a dealer for themselves, so that its requests act as that person.
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "siret", "habilitation_number", "tax_agrement", "active", "created_at")
    list_filter = ("active", "tax_agrement")
    search_fields = ("name", "siren", "siret", "habilitation_number")
    inlines = [OrganisationTokenInline]


@admin.register(OrganisationToken)
class OrganisationTokenAdmin(admin.ModelAdmin):
    list_display = ("organisation", "name", "created_by", "created_at", "revoked_at")
    list_filter = ("organisation",)
    list_select_related = ("organisation", "created_by")
    search_fields = ("organisation__name", "name", "created_by__email")
    raw_id_fields = ("created_by",)
    autocomplete_fields = ("organisation",)
    readonly_fields = ("key", "created_at")
    fields = ("organisation", "name", "created_by", "key", "created_at", "revoked_at")
