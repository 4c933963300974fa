"""Every read that carries a rule: what each caller may see, in which order, with what prefetched."""

from django.db.models import QuerySet

from dossiers import services
from dossiers.models import Dossier, DossierEvent, State
from portal.models import Role, User


def dossiers_for_user(*, user: User) -> QuerySet[Dossier]:
    """What `user` may see: their own, their organisation's, their centre's, or all for supervisors."""
    qs = Dossier.objects.select_related("vehicle", "holder", "cert", "organisation")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.CITIZEN:
        return qs.filter(applicant=user)
    if user.role == Role.DEALER:
        return qs.filter(organisation_id=user.organisation_id) if user.organisation_id else qs.none()
    if user.role == Role.AGENT:
        return qs.filter(cert_id=user.cert_id) if user.cert_id else qs.none()
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return qs
    return qs.none()


def dossier_get(*, user: User, reference: str) -> Dossier:
    """One dossier by reference, within the caller's scope; Dossier.DoesNotExist otherwise (a 404)."""
    return dossiers_for_user(user=user).select_related("sale").get(reference=reference)


def dossier_events(*, dossier: Dossier) -> QuerySet[DossierEvent]:
    """The audit trail of a dossier, oldest first."""
    return DossierEvent.objects.filter(dossier=dossier).select_related("actor").order_by("created_at", "id")


def dossier_payment(*, dossier: Dossier) -> dict[str, object]:
    """What the payment service recorded for the dossier against Y.6: not_due (free, or collected by a
    dealer holding the tax agrément), unpaid, partial, paid."""
    paid = services.payments_total(dossier=dossier)
    owed = dossier.y6
    if owed is None and dossier.state == State.DRAFT:
        # Y.6 is frozen at submission; a draft owes what it would owe if submitted today.
        try:
            owed = services.dossier_fees(dossier=dossier).y6
        except ValueError:  # FeesUnavailable, or a vehicle fact the fees need is missing
            owed = None
    if (owed is not None and owed <= 0) or services.fees_collected_by_professional(dossier=dossier):
        status = "not_due"
    elif paid <= 0:
        status = "unpaid"
    elif owed is None or paid < owed:
        status = "partial"
    else:
        status = "paid"
    return {"status": status, "paid": paid}


def dossier_mail_recipients(*, dossier: Dossier) -> list[str]:
    """Who is told by e-mail what happens to a dossier: its applicant (or the dealer staff who
    filed it) and its holder, each address once. Needs `applicant`, `filed_by` and `holder` loaded."""
    owner = dossier.applicant or dossier.filed_by
    return sorted({address for address in (owner.email, dossier.holder.email) if address})
