from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # Imported here, not at the top: the services need the app registry, ready only now.
        from dossiers import transitions
        from webhooks import services

        # Deliveries are written in the transaction of the change, so a rollback leaves none.
        transitions.register_on_change(services.deliveries_record)
