"""Forms of the organisation pages of the dealer space."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import EMAIL_INVALID, DsfrErrorsMixin, SignupForm


class InvitationForm(DsfrErrorsMixin, forms.Form):
    email = forms.EmailField(
        label=_("Adresse électronique du membre à inviter"),
        help_text=_(
            "Format attendu : nom@domaine.fr. Cette adresse ne doit pas déjà avoir un compte sur le portail."
        ),
        max_length=254,
        error_messages={
            "invalid": EMAIL_INVALID,
            "required": _("Saisissez l'adresse électronique à inviter."),
        },
        widget=forms.EmailInput(attrs={"class": "fr-input", "autocomplete": "off"}),
    )


class InvitationAcceptForm(SignupForm):
    """Sign-up of an invited staff member: the address is the invitation's, not typed."""

    email = None


class TokenForm(DsfrErrorsMixin, forms.Form):
    name = forms.CharField(
        label=_("Nom du jeton"),
        help_text=_(
            "Pour le reconnaître dans la liste, par exemple « Logiciel DMS atelier ». 100 caractères au plus."
        ),
        max_length=100,
        error_messages={"required": _("Donnez un nom au jeton, par exemple « Logiciel DMS ».")},
        widget=forms.TextInput(attrs={"class": "fr-input", "autocomplete": "off"}),
    )
