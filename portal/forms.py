"""Forms of the site shell and of citizen accounts."""

import re

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dossiers.errors import InvalidInput
from portal import accounts
from portal.mail import mail_send
from portal.models import User


class DsfrErrorsMixin:
    """DSFR error state on the inputs themselves, tied to their message for screen readers."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                described_by = [f"{bound.auto_id}_helptext"] if bound.help_text else []
                self.fields[name].widget.attrs.update(
                    {
                        "class": "fr-input fr-input--error",
                        "aria-invalid": "true",
                        "aria-describedby": " ".join([*described_by, f"{bound.auto_id}-error"]),
                    }
                )


class LoginForm(DsfrErrorsMixin, AuthenticationForm):
    """Email and password, DSFR inputs. The field keeps the name `username` that django-axes reads."""

    username = forms.EmailField(
        label=_("Adresse électronique"),
        help_text=_("Format attendu : nom@domaine.fr"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email", "class": "fr-input"}),
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "fr-input"}),
    )

    error_messages = {
        "invalid_login": _(
            "Adresse électronique ou mot de passe incorrect. Vérifiez votre saisie "
            "(les majuscules comptent dans le mot de passe)."
        ),
        "inactive": _("Ce compte est désactivé."),
        "unconfirmed": _(
            "Votre adresse électronique n'est pas encore confirmée. Ouvrez le lien du message "
            "que nous vous avons envoyé à l'inscription, ou demandez un nouveau lien."
        ),
    }

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.email_confirmed_at is None:
            raise forms.ValidationError(self.error_messages["unconfirmed"], code="unconfirmed")

    @property
    def unconfirmed(self) -> bool:
        return any(error.code == "unconfirmed" for error in self.non_field_errors().as_data())

    def clean_username(self) -> str:
        # Accounts are stored with a lower-case email (UserManager), so match them whatever the case typed.
        return self.cleaned_data["username"].strip().lower()


EMAIL_INVALID = _("Adresse électronique invalide : le format attendu est nom@domaine.fr.")


def _input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "fr-input", **attrs})


class SignupForm(DsfrErrorsMixin, forms.Form):
    """A citizen's sign-up: every field checked at once, the password by AUTH_PASSWORD_VALIDATORS."""

    first_name = forms.CharField(label=_("Prénom"), max_length=150, widget=_input(autocomplete="given-name"))
    last_name = forms.CharField(label=_("Nom"), max_length=150, widget=_input(autocomplete="family-name"))
    email = forms.EmailField(
        label=_("Adresse électronique"),
        help_text=_("Format attendu : nom@domaine.fr"),
        max_length=254,
        error_messages={"invalid": EMAIL_INVALID},
        widget=forms.EmailInput(attrs={"class": "fr-input", "autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        help_text=_("Au moins 8 caractères, pas uniquement des chiffres, ni un mot de passe courant."),
        widget=forms.PasswordInput(attrs={"class": "fr-input", "autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        help_text=_("Saisissez le même mot de passe."),
        widget=forms.PasswordInput(attrs={"class": "fr-input", "autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict:
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        if password1:
            candidate = User(
                email=data.get("email") or "",
                first_name=data.get("first_name") or "",
                last_name=data.get("last_name") or "",
            )
            try:
                password_validation.validate_password(password1, user=candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class EmailForm(DsfrErrorsMixin, forms.Form):
    email = forms.EmailField(
        label=_("Adresse électronique"),
        help_text=_("Format attendu : nom@domaine.fr"),
        max_length=254,
        error_messages={"invalid": EMAIL_INVALID},
        widget=forms.EmailInput(attrs={"class": "fr-input", "autocomplete": "email"}),
    )


class PortalPasswordResetForm(DsfrErrorsMixin, PasswordResetForm):
    """Django's reset request, mailed in French through portal.mail with a link on SITE_URL."""

    email = EmailForm.base_fields["email"]

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        path = reverse("password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]})
        mail_send(
            to=[to_email],
            template="password_reset",
            context={
                "user": context["user"],
                "link": accounts.site_link(path),
                "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
                "site_url": settings.SITE_URL,
            },
        )


class PortalSetPasswordForm(DsfrErrorsMixin, SetPasswordForm):
    """The new password of a reset; following the mailed link also confirms the address."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].widget.attrs.update({"class": "fr-input"})
        self.fields["new_password1"].help_text = SignupForm.base_fields["password1"].help_text
        self.fields["new_password2"].widget.attrs.update({"class": "fr-input"})
        self.fields["new_password2"].label = _("Confirmation du nouveau mot de passe")

    def validate_password_for_user(self, user: User, *args, **kwargs) -> None:
        # The rules are about the password typed first, not its confirmation.
        super().validate_password_for_user(user, "new_password1")

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=commit)
        if commit:
            accounts.account_email_confirm_by_reset(user=user)
        return user


# A French number: 10 digits starting with 0, or +33 and 9 digits; spaces, dots and dashes allowed.
_PHONE = re.compile(r"(?:\+33|0)[1-9]\d{8}")


class ProfileForm(DsfrErrorsMixin, forms.Form):
    """The profile as typed; the rules are the holder's (portal.accounts.profile_clean)."""

    first_name = forms.CharField(
        label=_("Prénom(s)"), required=False, widget=_input(autocomplete="given-name")
    )
    last_name = forms.CharField(label=_("Nom"), required=False, widget=_input(autocomplete="family-name"))
    birth_date = forms.CharField(
        label=_("Date de naissance"),
        required=False,
        help_text=_("Format attendu : JJ/MM/AAAA"),
        widget=_input(autocomplete="bday"),
    )
    birth_place = forms.CharField(
        label=_("Lieu de naissance"),
        required=False,
        help_text=_("Commune (et pays si hors de France)"),
        widget=_input(),
    )
    address_line = forms.CharField(
        label=_("Adresse"),
        required=False,
        help_text=_("Numéro et voie, par exemple 12 rue de la Paix"),
        widget=_input(autocomplete="street-address"),
    )
    postcode = forms.CharField(
        label=_("Code postal"),
        required=False,
        help_text=_("5 chiffres"),
        widget=_input(autocomplete="postal-code", inputmode="numeric"),
    )
    city = forms.CharField(label=_("Commune"), required=False, widget=_input(autocomplete="address-level2"))
    phone = forms.CharField(
        label=_("Téléphone (facultatif)"),
        required=False,
        help_text=_("Format attendu : 06 12 34 56 78 ou +33 6 12 34 56 78"),
        widget=forms.TextInput(attrs={"class": "fr-input", "autocomplete": "tel", "type": "tel"}),
    )

    def __init__(self, *args, readonly: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Fields certified by FranceConnect are shown, not edited (the service ignores them too).
        for name in readonly:
            self.fields[name].disabled = True
            self.fields[name].help_text = _("Transmis par FranceConnect, non modifiable ici.")

    def clean_phone(self) -> str:
        phone = re.sub(r"[\s.-]", "", self.cleaned_data["phone"])
        if phone and not _PHONE.fullmatch(phone):
            raise forms.ValidationError(
                _("Numéro de téléphone invalide : 10 chiffres commençant par 0, ou +33 suivi de 9 chiffres.")
            )
        return phone

    def clean(self) -> dict:
        data = super().clean()
        try:
            self.profile = accounts.profile_clean(data)
        except InvalidInput as exc:
            for error in exc.errors:
                field = error.field if error.field in self.fields else None
                if field is None or field not in self.errors:
                    self.add_error(field, error.message)
        return data
