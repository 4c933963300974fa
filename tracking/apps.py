from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    """Following a dossier: its page, timeline, estimate, complement answers and downloads."""

    name = "tracking"
    verbose_name = _("Suivi des dossiers")

    def ready(self) -> None:
        # Imported here: the notices read models, which need the app registry, ready only now.
        from tracking import notices

        notices.hooks_register()
