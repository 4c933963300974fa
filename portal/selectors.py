"""Reads of accounts that carry a rule."""

from typing import Any

from portal.models import User


def profile_holder_initial(user: User) -> dict[str, Any]:
    """The holder's fields (dossiers.Holder names) the citizen's profile knows; nothing else.

    For the holder step of the guided forms: a person holder, with their name, birth date, email
    and postal address, each only when known."""
    values: dict[str, Any] = {
        "holder_kind": "person",
        "last_name": user.last_name,
        "first_names": user.first_name,
        "birth_date": user.birth_date,
        "email": user.email,
        "address_line": user.address_line,
        "postcode": user.postcode,
        "city": user.city,
        "department": user.department,
    }
    return {name: value for name, value in values.items() if value not in (None, "")}
