"""The upload form of the dealer's batch page."""

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

# The page's own key (uuid4().hex), written afresh on every form shown: see views.batch_list.
FORM_KEY = RegexValidator(
    r"\A[0-9a-f]{32}\Z",
    _("Ce formulaire n'est plus valable : choisissez de nouveau le fichier, puis déposez-le."),
)


def max_file_bytes() -> int:
    """The same limit as the API's body (batches.api.max_body_bytes)."""
    return int(getattr(settings, "BATCH_MAX_BODY_BYTES", 32 * 1024 * 1024))


class BatchUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier du lot"),
        help_text=_("CSV (séparateur « ; » ou « , ») ou classeur Excel (.xlsx), une ligne par véhicule."),
        error_messages={
            "required": _("Choisissez le fichier du lot (CSV ou XLSX)."),
            "empty": _("Le fichier est vide."),
            "invalid": _("Choisissez le fichier du lot (CSV ou XLSX)."),
        },
    )
    key = forms.CharField(
        widget=forms.HiddenInput,
        validators=[FORM_KEY],
        error_messages={"required": FORM_KEY.message},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_file_bytes():
            raise forms.ValidationError(
                _("Le fichier pèse %(size)s : un lot en pèse %(max)s au plus. Déposez plusieurs lots.")
                % {"size": filesizeformat(upload.size), "max": filesizeformat(max_file_bytes())}
            )
        return upload
