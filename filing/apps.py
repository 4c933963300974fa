from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilingConfig(AppConfig):
    """The citizen's guided forms: one stepper per procedure, a draft saved at every step."""

    name = "filing"
    verbose_name = _("Démarches en ligne")
