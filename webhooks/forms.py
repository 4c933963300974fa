from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import DsfrErrorsMixin


class EndpointForm(DsfrErrorsMixin, forms.Form):
    url = forms.CharField(
        label=_("Adresse de réception (URL)"),
        help_text=_(
            "Une adresse https:// publique de votre serveur, par exemple https://exemple.fr/webhooks."
        ),
        max_length=500,
        widget=forms.URLInput(attrs={"class": "fr-input", "autocomplete": "url", "spellcheck": "false"}),
    )
