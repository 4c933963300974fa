"""Writes of payments: start a checkout, take a provider's notification, expire forgotten attempts.

The attempt (payments.PaymentAttempt) is where the payer is; the money received is a
dossiers.Payment, written only through dossiers.services.payment_record, and only on a
notification whose signature the provider's class verified."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers import fees as fees_module
from dossiers import services as dossier_services
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Dossier, State
from payments import selectors
from payments.models import PaymentAttempt
from payments.providers import Outcome, provider_get
from portal.models import User

STATUS_OF_OUTCOME = {
    Outcome.SUCCEEDED: PaymentAttempt.Status.SUCCEEDED,
    Outcome.REFUSED: PaymentAttempt.Status.REFUSED,
    Outcome.ABANDONED: PaymentAttempt.Status.ABANDONED,
}


def _refused(field: str, rule: str, message: str, expected: str = "") -> InvalidInput:
    return InvalidInput([FieldError(field, rule, message, expected)])


def payment_start(*, dossier: Dossier, actor: User, return_url: str = "") -> PaymentAttempt:
    """Start a checkout with the configured provider for what the draft still owes. An attempt
    still in progress is superseded (marked abandoned): one attempt at a time per dossier."""
    provider = provider_get()
    with transaction.atomic():
        # The row lock orders two starts of the same dossier: the second supersedes the first.
        dossier = (
            Dossier.objects.select_for_update(of=("self",))
            .select_related("vehicle", "holder", "organisation")
            .get(pk=dossier.pk)
        )
        if dossier.state != State.DRAFT:
            raise _refused(
                "state",
                "not_draft",
                _("Seul un dossier en brouillon se paie : celui-ci est « %(state)s ».")
                % {"state": dossier.get_state_display()},
                _("un brouillon"),
            )
        try:
            due = selectors.payment_due(dossier=dossier)
        except fees_module.FeesUnavailable as exc:
            raise _refused("fees", "fees_unavailable", exc.public_message, str(exc)) from exc
        except ValueError as exc:  # a vehicle fact the fees need is missing (compute_fees says which)
            raise _refused("fees", "fees_uncomputable", str(fees_module.FEES_UNCOMPUTABLE), str(exc)) from exc
        if due.due <= 0:
            raise _refused(
                "payment",
                "nothing_due",
                _("Ce dossier ne doit aucun frais : il n'y a rien à payer."),
                "0,00 €",
            )
        PaymentAttempt.objects.filter(dossier=dossier, status=PaymentAttempt.Status.STARTED).update(
            status=PaymentAttempt.Status.ABANDONED, updated_at=timezone.now()
        )
        checkout = provider.checkout_start(reference=dossier.reference, amount=due.due)
        return PaymentAttempt.objects.create(
            dossier=dossier,
            amount=due.due,
            provider=provider.name,
            session_id=checkout.session_id,
            started_by=actor,
            redirect_url=checkout.redirect_url,
            return_url=return_url,
        )


def payment_notification_receive(
    *, payload: dict[str, str], provider_name: str | None = None
) -> PaymentAttempt:
    """Take a provider's notification: a verified success records the payment once (a notification
    received twice records nothing more); a bad signature, an unknown session, another dossier's
    session or another amount records nothing and raises InvalidInput."""
    provider = provider_get(provider_name)
    notification = provider.notification_verify(payload=payload)
    with transaction.atomic():
        attempt = (
            PaymentAttempt.objects.select_for_update(of=("self",))
            .select_related("dossier")
            .filter(provider=provider.name, session_id=notification.session_id)
            .first()
        )
        if attempt is None:
            raise _refused("session_id", "session_unknown", _("Session de paiement inconnue."))
        if attempt.dossier.reference != notification.reference:
            raise _refused(
                "reference",
                "session_other_dossier",
                _("Cette session de paiement appartient à un autre dossier."),
                attempt.dossier.reference,
            )
        if notification.amount != attempt.amount:
            raise _refused(
                "amount",
                "amount_mismatch",
                _("Le montant notifié ne correspond pas au montant demandé."),
                str(attempt.amount),
            )
        if attempt.status == PaymentAttempt.Status.SUCCEEDED:
            # A session is paid once: its notification again (same reference, already recorded) or a
            # second settlement of it (two clicks on the bank page) records nothing more.
            return attempt
        if notification.outcome == Outcome.SUCCEEDED:
            if not notification.provider_reference:
                raise _refused("provider_reference", "required", _("Référence du paiement absente."))
            # The money was taken even if the payer started another attempt since: it is recorded.
            dossier_services.payment_record(
                dossier=attempt.dossier,
                amount=notification.amount,
                provider=provider.name,
                provider_reference=notification.provider_reference,
            )
        new_status = STATUS_OF_OUTCOME[notification.outcome]
        # A success is final; a refusal or an abandonment only ends an attempt in progress.
        if attempt.status != new_status and (
            new_status == PaymentAttempt.Status.SUCCEEDED or attempt.status == PaymentAttempt.Status.STARTED
        ):
            attempt.status = new_status
            attempt.save(update_fields=["status", "updated_at"])
    return attempt


def payment_attempts_expire(*, now: datetime | None = None) -> int:
    """Mark abandoned the attempts started more than PAYMENT_ATTEMPT_TIMEOUT_MINUTES ago whose
    payer never came back; a notification arriving later still records a success."""
    now = now or timezone.now()
    limit = now - timedelta(minutes=settings.PAYMENT_ATTEMPT_TIMEOUT_MINUTES)
    return PaymentAttempt.objects.filter(status=PaymentAttempt.Status.STARTED, created_at__lt=limit).update(
        status=PaymentAttempt.Status.ABANDONED, updated_at=now
    )


def fake_payment_settle(*, attempt: PaymentAttempt, outcome: Outcome) -> dict[str, str]:
    """What the fake bank does when its payer presses a button: it signs the notification of the
    result and delivers it (in-process, like a server-to-server call); the payer's return carries
    the same notification, so the portal receives it twice. Returns that notification."""
    provider = provider_get(attempt.provider)
    payload = provider.notification_build(
        session_id=attempt.session_id,
        reference=attempt.dossier.reference,
        outcome=outcome,
        amount=attempt.amount,
    )
    payment_notification_receive(payload=payload, provider_name=attempt.provider)
    return payload


def fake_payment_complete(*, dossier: Dossier, actor: User) -> PaymentAttempt | None:
    """Pay what a draft owes as a payer would on the fake provider's page (demo data, tests);
    nothing when it owes nothing."""
    if dossier.state != State.DRAFT or selectors.payment_due(dossier=dossier).due <= 0:
        return None
    attempt = payment_start(dossier=dossier, actor=actor)
    fake_payment_settle(attempt=attempt, outcome=Outcome.SUCCEEDED)
    return attempt
