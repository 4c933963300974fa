from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertWorkflowConfig(AppConfig):
    name = "cert_workflow"
    verbose_name = _("Instruction CERT")

    def ready(self) -> None:
        # Imported here, not at the top: models and services need the app registry, which is
        # ready only now.
        from cert_workflow.checks import services as checks
        from cert_workflow.documents import issuing
        from dossiers import transitions
        from dossiers.models import State

        # Submitted dossiers are checked (then approved or routed) by a worker after commit, one
        # task per chunk of ids however many were submitted together.
        transitions.register_on_enter(State.SUBMITTED, lambda ids: checks.checks_enqueue(dossier_ids=ids))
        # Documents (documents/issuing.py says which and why): pending rows are created right after the
        # transition's commit and rendered on the pdf queue. Registered after the checks, so a
        # submission's checks are enqueued before its receipt.
        transitions.register_on_enter(State.SUBMITTED, issuing.hook(issuing.submitted_documents_issue))
        transitions.register_on_enter(State.APPROVED, issuing.hook(issuing.approved_documents_issue))
        transitions.register_on_enter(State.REJECTED, issuing.hook(issuing.rejected_documents_issue))
        # An abandoned dossier takes the CPI a dealer got at submission with it.
        transitions.register_on_enter(State.WITHDRAWN, issuing.hook(issuing.withdrawn_documents_issue))
        transitions.register_on_enter(
            State.AWAITING_COMPLEMENT, issuing.hook(issuing.complement_documents_issue)
        )
