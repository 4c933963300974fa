"""The agent's search box: reference, plate, part of a VIN or of a holder's names, within the
caller's scope (an agent's centre; every centre for a supervisor), which the page states."""

import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from dossiers.models import Dossier, Holder, Vehicle
from dossiers.selectors import dossiers_for_user
from portal.models import Role, User


@dataclass(frozen=True)
class SearchTerms:
    reference: str = ""
    plate: str = ""
    vin: str = ""
    name: str = ""

    def __bool__(self) -> bool:
        return bool(self.reference or self.plate or self.vin or self.name)


_REFERENCE = re.compile(r"CG-\d{4}-\d{7}")
_PLATE = re.compile(r"[A-Z]{2}\d{3}[A-Z]{2}")
_VIN_PART = re.compile(r"[0-9A-Z]{4,17}")


def search_terms(q: str) -> SearchTerms:
    """What a search box entry may be: a reference, a plate (dashes optional), part of a VIN
    (letters and digits), or words of a holder's names (no digit)."""
    # Control characters (a NUL byte is a DataError on PostgreSQL) can be part of no name.
    text = " ".join("".join(c for c in (q or "") if c.isprintable() or c.isspace()).split())
    upper = text.upper()
    compact = re.sub(r"[\s-]", "", upper)
    if _REFERENCE.fullmatch(upper):
        return SearchTerms(reference=upper)
    plate = f"{compact[:2]}-{compact[2:5]}-{compact[5:]}" if _PLATE.fullmatch(compact) else ""
    vin = compact if _VIN_PART.fullmatch(compact) and any(c.isdigit() for c in compact) else ""
    name = text if len(text) >= 2 and not any(c.isdigit() for c in text) else ""
    return SearchTerms(plate=plate, vin=vin, name=name)


SEARCH_LIMIT = 50
NAME_COLUMNS = ("last_name", "first_names", "company_name")


def names_match(name: str) -> Q:
    """Every word of `name` is part of the holder's last name, first names or company name, so that
    « Alex », « Dupont », « Alex Dupont » and « Dupont Alex » all find Alex Dupont."""
    match = Q()
    for word in name.split():
        word_match = Q()
        for column in NAME_COLUMNS:
            word_match |= Q(**{f"{column}__icontains": word})
        match &= word_match
    return match


def search_scope(*, user: User) -> str:
    """Where the search looks, as the page says it: the agent's centre, or every centre."""
    if user.role == Role.AGENT:
        name = user.cert.name if user.cert_id else _("aucun centre")
        return _("dans votre centre : %(name)s") % {"name": name}
    return _("dans tous les centres")


def dossiers_search(*, user: User, q: str, limit: int = SEARCH_LIMIT) -> list[Dossier]:
    """Dossiers in `user`'s scope whose reference, plate, VIN or holder name matches `q`, newest first.

    Names and VIN fragments use the trigram indexes of migrations 0002 and 0009 on PostgreSQL.
    """
    terms = search_terms(q)
    if not terms:
        return []
    # At most one of the three below applies (a name has no digit, a VIN fragment has one), so
    # PostgreSQL sees one semi-join driven by a unique or trigram index, never an OR across tables.
    if terms.reference:
        match = Q(reference=terms.reference)
    elif terms.plate or terms.vin:
        vehicles = Q(vin__contains=terms.vin) if terms.vin else Q()
        if terms.plate:
            vehicles |= Q(plate=terms.plate)
        match = Q(vehicle_id__in=Vehicle.objects.filter(vehicles).values("pk"))
    else:
        match = Q(holder_id__in=Holder.objects.filter(names_match(terms.name)).values("pk"))
    return list(dossiers_for_user(user=user).filter(match).order_by("-created_at", "-pk")[:limit])
