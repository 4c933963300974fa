"""Errors that say what and why, in one structure for web forms, the API and batch rows."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FieldError:
    field: str  # the docs/domain/FIELDS.md name, dotted for nested input ("vehicle.vin")
    rule: str  # a stable machine code ("required", "vin_length", "siret_checksum", ...)
    message: str  # French, for people
    expected: str = ""  # what would have been accepted

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class InvalidInput(Exception):
    """Input rejected as a whole: nothing was written. Carries every field error found."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    def as_list(self) -> list[dict[str, str]]:
        return [e.as_dict() for e in self.errors]
