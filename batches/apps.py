from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BatchesConfig(AppConfig):
    name = "batches"
    verbose_name = _("Lots de véhicules neufs")

    def ready(self) -> None:
        # Imported here, not at the top: the services need the app registry, ready only now.
        from batches import services
        from cert_workflow.documents import render_queue

        # A batch is done once each of its accepted vehicles has its CPI: told by the renderer.
        render_queue.register_on_cpis_rendered(services.batches_complete_for)
