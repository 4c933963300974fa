from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertWorkflowConfig(AppConfig):
    name = "cert_workflow"
    verbose_name = _("Instruction CERT")
