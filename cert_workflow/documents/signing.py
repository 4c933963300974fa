"""Signed verification of issued documents: the token in the QR code, its verdict, the key.

The token is `base64url(payload || signature)` without padding, where `signature` is the 64-byte
Ed25519 signature of `payload`, and `payload` is a fixed binary layout (big-endian):

    version   1 byte   (1)
    id        8 bytes  IssuedDocument.pk
    kind      1 byte   1 certificate, 2 CPI, 3 receipt, 4 rejection letter, 5 complement letter
    issued    4 bytes  proleptic Gregorian ordinal of the issue date (Europe/Paris)
    then five strings, each one length byte and UTF-8: serial, plate (A), VIN's last 4 (E),
    make (D.1), commercial name (D.3)

so a certificate's token is about 160 characters and its QR code stays small. Anyone can check
a token offline with the public key published at /verifier/cle-publique.

The private key (Ed25519) comes from, in order:
- settings.DOCUMENT_SIGNING_KEY: the key itself, either a PEM (PKCS#8, unencrypted) or, easier to
  put in an environment variable, the raw 32-byte private key in base64 (one line; generate with
  `python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"`);
- settings.DOCUMENT_SIGNING_KEY_FILE: a file holding a PEM (PKCS#8, unencrypted) private key;
- otherwise, only when settings.DOCUMENT_SIGNING_KEY_GENERATE is on (default: DEBUG, so the
  embedded mode works out of the box), a key generated once into VAR_DIR/signing-key.pem (mode 0600)
  and reused afterwards. With neither configured nor generation allowed, signing and verifying
  raise ImproperlyConfigured: a production portal must never invent a key nobody has backed up.
"""

import base64
import binascii
import contextlib
import datetime
import functools
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from cert_workflow.models import DocumentKind, IssuedDocument

AUTHENTIC = "authentique"
INVALID = "non valide"
SUPERSEDED = "remplacé"
WITHDRAWN = "retiré"

TOKEN_VERSION = 1
SIGNATURE_BYTES = 64
_HEADER = struct.Struct(">BQBI")
# Plain strings as keys: a TextChoices member hashes by its name, not by its value.
_KIND_CODES = {
    str(DocumentKind.CERTIFICATE): 1,
    str(DocumentKind.CPI): 2,
    str(DocumentKind.RECEIPT): 3,
    str(DocumentKind.REJECTION_LETTER): 4,
    str(DocumentKind.COMPLEMENT_LETTER): 5,
}
_KINDS_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}
# No real token comes near this; longer input is rejected before any decoding work.
MAX_TOKEN_CHARS = 1200
GENERATED_KEY_NAME = "signing-key.pem"


class TokenError(ValueError):
    """A token that cannot be read (not base64url, truncated, unknown layout)."""


@dataclass(frozen=True)
class TokenFields:
    """What a token says about its document: the identifier and the printed key fields."""

    document_id: int
    kind: str
    issued_on: datetime.date
    serial: str
    plate: str
    vin_last4: str
    make: str
    commercial_name: str


@dataclass(frozen=True)
class Verdict:
    """The answer to "is this document genuine?", with only the fields the public may see."""

    status: str  # AUTHENTIC | INVALID | SUPERSEDED | WITHDRAWN
    kind: str = ""
    serial: str = ""
    plate: str = ""
    make: str = ""
    commercial_name: str = ""
    vin_last4: str = ""
    issued_on: datetime.date | None = None
    valid_until: datetime.date | None = None
    superseded_on: datetime.date | None = None
    withdrawn_on: datetime.date | None = None
    # Why a withdrawn document was withdrawn: the final state of its dossier (rejected, withdrawn).
    withdrawn_because: str = ""
    # Authentic, neither superseded nor withdrawn; for a CPI, also before its end of validity.
    current: bool = False

    @property
    def is_authentic(self) -> bool:
        return self.status == AUTHENTIC

    @property
    def kind_label(self) -> str:
        return str(DocumentKind(self.kind).label) if self.kind in DocumentKind.values else ""


# --- keys -----------------------------------------------------------------------------------------


def _key_config() -> tuple[str, str, str, bool]:
    return (
        getattr(settings, "DOCUMENT_SIGNING_KEY", "") or "",
        getattr(settings, "DOCUMENT_SIGNING_KEY_FILE", "") or "",
        str(settings.VAR_DIR),
        bool(getattr(settings, "DOCUMENT_SIGNING_KEY_GENERATE", settings.DEBUG)),
    )


def signing_key() -> Ed25519PrivateKey:
    """The configured private key (loaded once per configuration); ImproperlyConfigured without one."""
    return _load_key(*_key_config())


@functools.lru_cache(maxsize=4)
def _load_key(key: str, key_file: str, var_dir: str, generate: bool) -> Ed25519PrivateKey:
    if key:
        return _parse_key(key.strip().encode(), source="DOCUMENT_SIGNING_KEY")
    if key_file:
        try:
            data = Path(key_file).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(f"DOCUMENT_SIGNING_KEY_FILE cannot be read: {exc}") from exc
        return _parse_key(data, source="DOCUMENT_SIGNING_KEY_FILE")
    if generate:
        return _parse_key(_generated_key_file(Path(var_dir)).read_bytes(), source="the generated key file")
    raise ImproperlyConfigured(
        "No document signing key: set DOCUMENT_SIGNING_KEY or DOCUMENT_SIGNING_KEY_FILE "
        "(see .env.example), or DOCUMENT_SIGNING_KEY_GENERATE=1 for a throwaway key under VAR_DIR."
    )


def _parse_key(data: bytes, *, source: str) -> Ed25519PrivateKey:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=None)
        else:
            raw = base64.b64decode(data, validate=True)
            key = Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ImproperlyConfigured(
            f"{source} is neither an unencrypted PEM private key nor 32 bytes in base64: {exc}"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{source} is not an Ed25519 private key.")
    return key


def _generated_key_file(var_dir: Path) -> Path:
    """The embedded mode's key file, created once: complete and 0600 before anyone can see it."""
    path = var_dir / GENERATED_KEY_NAME
    if path.exists():
        return path
    var_dir.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # mkstemp creates the file with mode 0600; link() then publishes it only if no other process
    # did first (it never overwrites), so concurrent first starts all end up with the same key.
    fd, tmp = tempfile.mkstemp(dir=var_dir, prefix=".signing-key-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_pem() -> bytes:
    """The public key that checks every token, as a SubjectPublicKeyInfo PEM."""
    return public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- tokens ---------------------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value)


def document_fields(document: IssuedDocument) -> TokenFields:
    """The fields a token carries for `document`: its frozen printed data, else the vehicle's."""
    data = document.data or {}
    fallback = {}
    if not all(code in data for code in ("A", "E", "D.1", "D.3")):
        vehicle = document.dossier.vehicle
        fallback = {"A": vehicle.plate, "E": vehicle.vin, "D.1": vehicle.make, "D.3": vehicle.commercial_name}
    printed = {**fallback, **data}
    return TokenFields(
        document_id=document.pk,
        kind=str(document.kind),
        issued_on=timezone.localdate(document.issued_at),
        serial=document.serial,
        plate=_text(printed["A"]),
        vin_last4=_text(printed["E"])[-4:],
        make=_text(printed["D.1"]),
        commercial_name=_text(printed["D.3"]),
    )


def payload_encode(fields: TokenFields) -> bytes:
    """The binary payload of the module docstring (ValueError if a field is too long to carry)."""
    parts = [
        _HEADER.pack(
            TOKEN_VERSION, fields.document_id, _KIND_CODES[str(fields.kind)], fields.issued_on.toordinal()
        )
    ]
    for value in (fields.serial, fields.plate, fields.vin_last4, fields.make, fields.commercial_name):
        raw = value.encode()
        if len(raw) > 255:
            raise ValueError(f"{value[:20]!r}… is too long for a verification token")
        parts.append(bytes([len(raw)]) + raw)
    return b"".join(parts)


def payload_decode(payload: bytes) -> TokenFields:
    """Read a payload back (TokenError if it does not follow the layout exactly)."""
    if len(payload) < _HEADER.size:
        raise TokenError("payload too short")
    version, document_id, kind_code, ordinal = _HEADER.unpack_from(payload)
    if version != TOKEN_VERSION or kind_code not in _KINDS_BY_CODE:
        raise TokenError("unknown token version or document kind")
    strings, offset = [], _HEADER.size
    for _ in range(5):
        if offset >= len(payload):
            raise TokenError("payload truncated")
        length = payload[offset]
        raw = payload[offset + 1 : offset + 1 + length]
        if len(raw) != length:
            raise TokenError("payload truncated")
        try:
            strings.append(raw.decode())
        except UnicodeDecodeError as exc:
            raise TokenError("payload text is not UTF-8") from exc
        offset += 1 + length
    if offset != len(payload):
        raise TokenError("trailing bytes")
    try:
        issued_on = datetime.date.fromordinal(ordinal)
    except ValueError as exc:
        raise TokenError("bad date") from exc
    serial, plate, vin_last4, make, commercial_name = strings
    return TokenFields(
        document_id, _KINDS_BY_CODE[kind_code], issued_on, serial, plate, vin_last4, make, commercial_name
    )


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(token: str) -> bytes:
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("token too long")
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error) as exc:
        raise TokenError("not base64url") from exc


def document_token(document: IssuedDocument) -> str:
    """The signed, URL-safe token that identifies `document` and its key printed fields."""
    payload = payload_encode(document_fields(document))
    return _b64url_encode(payload + signing_key().sign(payload))


def token_fields(token: str) -> TokenFields:
    """The fields of a token whose signature holds (TokenError or InvalidSignature otherwise)."""
    raw = _b64url_decode(token)
    if len(raw) <= SIGNATURE_BYTES:
        raise TokenError("token too short")
    payload, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    public_key().verify(signature, payload)
    return payload_decode(payload)


def verification_url(document: IssuedDocument) -> str:
    """The absolute URL of the public page that verifies `document` (the QR code's content)."""
    return settings.SITE_URL.rstrip("/") + reverse("verify", args=[document_token(document)])


def token_verify(token: str) -> Verdict:
    """The verdict on a token: signature first, then the issued document it names, then its status."""
    try:
        claimed = token_fields(token)
    except (TokenError, InvalidSignature):
        return Verdict(status=INVALID)
    document = (
        IssuedDocument.objects.select_related("dossier__vehicle", "superseded_by")
        .filter(pk=claimed.document_id, serial=claimed.serial, kind=claimed.kind)
        .first()
    )
    # A genuine signature over fields that no longer match the row means the key signed something
    # the register does not hold (a restored backup, a leaked key): not a document we vouch for.
    if document is None or document_fields(document) != claimed:
        return Verdict(status=INVALID)
    valid_until = timezone.localdate(document.valid_until) if document.valid_until else None
    superseded = document.superseded_by_id is not None
    withdrawn = document.withdrawn_at is not None
    current = (
        not superseded
        and not withdrawn
        and (document.valid_until is None or document.valid_until > timezone.now())
    )
    superseded_at = document.superseded_at or (document.superseded_by.issued_at if superseded else None)
    status = SUPERSEDED if superseded else WITHDRAWN if withdrawn else AUTHENTIC
    return Verdict(
        status=status,
        kind=claimed.kind,
        serial=claimed.serial,
        plate=claimed.plate,
        make=claimed.make,
        commercial_name=claimed.commercial_name,
        vin_last4=claimed.vin_last4,
        issued_on=claimed.issued_on,
        valid_until=valid_until,
        superseded_on=timezone.localdate(superseded_at) if superseded_at else None,
        withdrawn_on=timezone.localdate(document.withdrawn_at) if withdrawn else None,
        withdrawn_because=str(document.dossier.state) if withdrawn else "",
        current=current,
    )
