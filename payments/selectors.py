"""Reads of payments: what a dossier owes, what is paid, the attempts, scoped to the payer."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from dossiers import fees as fees_module
from dossiers import selectors as dossier_selectors
from dossiers import services as dossier_services
from dossiers.models import Dossier
from payments.models import PaymentAttempt
from portal.models import Role, User

# A dossier whose vehicle lacks a fact the fees need (fees.compute_fees' ValueError).
UNCOMPUTABLE_FEES = fees_module.FEES_UNCOMPUTABLE

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PaymentDue:
    fees: fees_module.Fees
    paid: Decimal  # what the payment service recorded
    due: Decimal  # what is left to pay, never negative
    collected_by_professional: bool  # a dealer with the tax agrément collects the taxes itself


def dossier_for_payer(*, user: User, reference: str) -> Dossier:
    """A dossier its applicant (or their dealer's organisation) may pay; Dossier.DoesNotExist
    (a 404) for anyone else, agents and supervisors included."""
    if not user.is_authenticated or user.role not in (Role.CITIZEN, Role.DEALER):
        raise Dossier.DoesNotExist
    return dossier_selectors.dossier_get(user=user, reference=reference)


def payment_due(*, dossier: Dossier) -> PaymentDue:
    """Y.1–Y.6 owed today, what was paid and what is left; FeesUnavailable if the tables lack the date."""
    owed = dossier_services.dossier_fees(dossier=dossier)
    paid = dossier_services.payments_total(dossier=dossier)
    collected = dossier_services.fees_collected_by_professional(dossier=dossier)
    due = ZERO if collected else max(owed.y6 - paid, ZERO)
    return PaymentDue(fees=owed, paid=paid, due=due, collected_by_professional=collected)


def payment_attempts(*, dossier: Dossier) -> QuerySet[PaymentAttempt]:
    """A dossier's payment attempts, newest first."""
    return PaymentAttempt.objects.filter(dossier=dossier).order_by("-created_at", "-id")


def fee_rows(*, fees: fees_module.Fees) -> list[dict[str, object]]:
    """Y.1–Y.6 as table rows: code, French label, amount (dossiers.fees.FEE_LABELS)."""
    return fees_module.fee_rows(fees)


def payment_status(*, due: PaymentDue) -> str:
    """not_due (free, or collected by the dealer), unpaid, partial or paid."""
    if due.collected_by_professional or due.fees.y6 <= 0:
        return "not_due"
    if due.due <= 0:
        return "paid"
    return "partial" if due.paid > 0 else "unpaid"
