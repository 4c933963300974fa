from django import forms
from django.utils.translation import gettext_lazy as _


class BatchUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier du lot"),
        help_text=_("CSV (séparateur ; ou ,) ou Excel (XLSX), une ligne par véhicule, en-têtes du modèle."),
        error_messages={"required": _("Choisissez le fichier du lot (CSV ou XLSX).")},
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=100)
