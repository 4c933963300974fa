"""Every read that carries a rule: what each caller may see, in which order, with what prefetched."""

from django.db.models import QuerySet

from dossiers.models import Dossier, DossierEvent
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
    return dossiers_for_user(user=user).get(reference=reference)


def dossier_events(*, dossier: Dossier) -> QuerySet[DossierEvent]:
    """The audit trail of a dossier, oldest first."""
    return DossierEvent.objects.filter(dossier=dossier).select_related("actor").order_by("created_at", "id")
