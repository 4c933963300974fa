"""Forms of the site shell."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
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
    }

    def clean_username(self) -> str:
        # Accounts are stored with a lower-case email (UserManager), so match them whatever the case typed.
        return self.cleaned_data["username"].strip().lower()

    def full_clean(self) -> None:
        super().full_clean()
        # DSFR error state on the inputs themselves, tied to their message for screen readers.
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
