"""System checks of the payment settings."""

from django.conf import settings
from django.core import checks

from payments.providers import PROVIDERS


@checks.register()
def provider_known(app_configs, **kwargs):
    if settings.PAYMENT_PROVIDER not in PROVIDERS:
        return [
            checks.Error(
                f"PAYMENT_PROVIDER={settings.PAYMENT_PROVIDER!r} is not a known payment provider.",
                hint=f"One of: {', '.join(PROVIDERS)}.",
                id="payments.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def fake_provider_in_production(app_configs, **kwargs):
    if settings.PAYMENT_PROVIDER == "fake" and not settings.DEBUG:
        return [
            checks.Warning(
                "The fake payment provider is used with DEBUG off: anyone can 'pay' on its simulated "
                "bank page, and no money is collected.",
                hint="Connect a real provider (payments/providers.py) and set PAYMENT_PROVIDER.",
                id="payments.W001",
            )
        ]
    return []
