from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    """Following a dossier: its page, timeline, estimate, complement answers and downloads."""

    name = "tracking"
    verbose_name = _("Suivi des dossiers")
