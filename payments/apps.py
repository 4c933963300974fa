from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """Fees quotes and payment providers (a fake one for the embedded mode and the tests)."""

    name = "payments"
    verbose_name = _("Paiements")

    def ready(self) -> None:
        from payments import checks  # noqa: F401  (registers the system checks)
