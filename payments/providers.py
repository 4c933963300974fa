"""The payment provider interface, and the fake provider of the embedded mode and the tests.

A provider does two things: start a checkout for an amount (where to send the payer), and turn a
notification it sent back into a verified result (its signature checked). The portal's side of
both is payments.services; a real provider is one more class here and a PAYMENT_PROVIDER value.
"""

import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from dossiers.errors import FieldError, InvalidInput


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    REFUSED = "refused"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class Checkout:
    session_id: str
    redirect_url: str  # where the payer goes to pay


@dataclass(frozen=True)
class Notification:
    """A result the provider vouched for: its signature was checked."""

    session_id: str
    reference: str  # the dossier reference the checkout was started for, echoed by the provider
    outcome: Outcome
    amount: Decimal
    provider_reference: str  # the provider's id of the payment (empty unless it succeeded)


class PaymentProvider(Protocol):
    name: str

    def checkout_start(self, *, reference: str, amount: Decimal) -> Checkout: ...

    def notification_verify(self, *, payload: dict[str, str]) -> Notification: ...


def notification_refused(message: str) -> InvalidInput:
    return InvalidInput([FieldError("signature", "signature_invalid", message, _("une notification signée"))])


NOTIFICATION_FIELDS = ("session_id", "reference", "outcome", "amount", "provider_reference")


class FakeProvider:
    """A bank that exists only in the portal: its pages (payments.views.fake_*) let the payer pay,
    refuse or abandon, and its notifications are signed with HMAC-SHA256 under
    PAYMENT_FAKE_SECRET (or a key derived from SECRET_KEY). For the embedded mode and the tests;
    a deploy check warns when it is used with DEBUG off."""

    name = "fake"

    def _key(self) -> str:
        return settings.PAYMENT_FAKE_SECRET or settings.SECRET_KEY

    def checkout_start(self, *, reference: str, amount: Decimal) -> Checkout:
        session_id = f"fake_{secrets.token_urlsafe(18)}"
        return Checkout(session_id=session_id, redirect_url=reverse("fake-provider-page", args=[session_id]))

    def notification_sign(self, *, payload: dict[str, str]) -> str:
        message = "\n".join(f"{name}={payload.get(name, '')}" for name in NOTIFICATION_FIELDS)
        return salted_hmac(
            "payments.fake.notification", message, secret=self._key(), algorithm="sha256"
        ).hexdigest()

    def notification_build(
        self, *, session_id: str, reference: str, outcome: Outcome, amount: Decimal
    ) -> dict[str, str]:
        """The signed notification the fake bank sends for one result."""
        payload = {
            "session_id": session_id,
            "reference": reference,
            "outcome": str(outcome),
            "amount": str(amount),
            "provider_reference": f"fake-pay-{secrets.token_urlsafe(12)}"
            if outcome == Outcome.SUCCEEDED
            else "",
        }
        payload["signature"] = self.notification_sign(payload=payload)
        return payload

    def notification_verify(self, *, payload: dict[str, str]) -> Notification:
        signature = payload.get("signature") or ""
        if not isinstance(signature, str) or not signature:
            raise notification_refused(_("Notification de paiement sans signature : ignorée."))
        if not constant_time_compare(signature, self.notification_sign(payload=payload)):
            raise notification_refused(_("Signature de la notification de paiement invalide : ignorée."))
        try:
            outcome = Outcome(payload.get("outcome"))
            amount = Decimal(payload.get("amount", ""))
        except (ValueError, InvalidOperation) as exc:  # signed by us, so only a bug gets here
            raise notification_refused(_("Notification de paiement illisible.")) from exc
        return Notification(
            session_id=payload.get("session_id", ""),
            reference=payload.get("reference", ""),
            outcome=outcome,
            amount=amount,
            provider_reference=payload.get("provider_reference", ""),
        )


PROVIDERS: dict[str, type] = {"fake": FakeProvider}


def provider_get(name: str | None = None) -> PaymentProvider:
    """The configured provider (settings.PAYMENT_PROVIDER), or the one named."""
    return PROVIDERS[name or settings.PAYMENT_PROVIDER]()
