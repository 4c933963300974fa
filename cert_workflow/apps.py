from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertWorkflowConfig(AppConfig):
    name = "cert_workflow"
    verbose_name = _("Instruction CERT")

    def ready(self) -> None:
        from cert_workflow import checks
        from dossiers import services
        from dossiers.models import State

        # Submitted dossiers are checked (then approved or routed) by a worker after commit, one
        # task per chunk of ids however many were submitted together.
        services.register_on_enter(State.SUBMITTED, lambda ids: checks.checks_enqueue(dossier_ids=ids))
