"""Pure checks of an uploaded document: the type from the bytes, a PDF that parses with no active
content, an image that decodes under a pixel limit and is re-encoded (so nothing but pixels is
kept). Each refusal is a FieldError on `file`; the service (documents.document_attach) stores
nothing unless these pass."""

import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from dossiers.errors import FieldError

# The content types accepted for documents, by their first bytes (never by the uploaded name).
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)

# Names that make a PDF run or open something: scripts, launch and open actions, additional
# actions, embedded or attached files. Any of them anywhere in the object tree refuses the file.
_ACTIVE_NAMES = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/Launch",
        "/OpenAction",
        "/AA",
        "/EmbeddedFiles",
        "/EmbeddedFile",
        "/FileAttachment",
        "/RichMedia",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/XFA",
    }
)

_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


@dataclass(frozen=True)
class CheckedUpload:
    """What may be stored: the bytes (re-encoded for images) and their detected type."""

    content: bytes
    content_type: str


def detect_content_type(head: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def _error(rule: str, message: str, expected: str = "") -> FieldError:
    return FieldError("file", rule, message, expected) if expected else FieldError("file", rule, message)


def _pdf_has_active_content(reader: PdfReader) -> bool:
    """Walk every object reachable from the trailer (iteratively: a deep tree is no recursion)."""
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            for name, value in obj.items():
                if name in _ACTIVE_NAMES:
                    return True
                # An action's type (/S) or an annotation's (/Subtype) names what it does.
                if name in ("/S", "/Subtype") and isinstance(value, NameObject) and value in _ACTIVE_NAMES:
                    return True
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return False


def _check_pdf(content: bytes) -> list[FieldError]:
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            return [_error("pdf_encrypted", _("Le PDF est chiffré ou protégé par mot de passe."))]
        if _pdf_has_active_content(reader):
            return [
                _error(
                    "pdf_active_content",
                    _("Le PDF contient du contenu actif (script, action, fichier joint) : non accepté."),
                )
            ]
        if len(reader.pages) == 0:
            return [_error("pdf_invalid", _("Le PDF ne contient aucune page."))]
    except Exception:  # pypdf raises many types on malformed input; any of them refuses the file.
        return [_error("pdf_invalid", _("Le PDF est illisible ou endommagé."))]
    # Bytes after the last %%EOF (HTML of a polyglot, a second document) are never a PDF's own.
    # (Writers may pad with whitespace or NUL bytes; anything else is refused.)
    tail = content[content.rfind(b"%%EOF") + 5 :] if b"%%EOF" in content else b"x"
    if tail.strip(b" \t\r\n\f\0"):
        return [_error("pdf_invalid", _("Le PDF contient des données après sa fin."))]
    return []


def _reencode_image(content: bytes, content_type: str, max_pixels: int) -> tuple[bytes | None, list]:
    too_large = _error(
        "image_too_large",
        _("L'image dépasse %(mp)d mégapixels.") % {"mp": max_pixels // 1_000_000},
        _("%(mp)d mégapixels au plus") % {"mp": max_pixels // 1_000_000},
    )
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size  # read from the header, before any pixel is decoded
            if width * height > max_pixels:
                return None, [too_large]
            if image.format != _PIL_FORMATS[content_type]:
                return None, [_error("file_type", _("Format non accepté."), "PDF, JPEG, PNG")]
            image.load()
            if content_type == "image/jpeg" and image.mode not in ("L", "RGB", "CMYK"):
                image = image.convert("RGB")
            out = io.BytesIO()
            # A fresh encoding from the decoded pixels: no metadata is passed on, and whatever
            # followed the image's end (the HTML of a polyglot) is not part of the pixels.
            if content_type == "image/jpeg":
                image.save(out, format="JPEG", quality=90)
            else:
                image.save(out, format="PNG")
            return out.getvalue(), []
    except Image.DecompressionBombError:
        return None, [too_large]
    except Exception:  # Pillow raises many types on malformed input; any of them refuses the file.
        return None, [_error("image_invalid", _("L'image est illisible ou endommagée."))]


def upload_check(*, content: bytes, max_bytes: int, max_pixels: int) -> tuple[CheckedUpload | None, list]:
    """The bytes to store and their type, or the reasons (FieldErrors on `file`) to refuse them."""
    if not content:
        return None, [_error("file_empty", _("Le fichier est vide."))]
    if len(content) > max_bytes:
        mb = max_bytes // 2**20
        return None, [
            _error(
                "file_too_large",
                _("Le fichier dépasse %(mb)d Mo.") % {"mb": mb},
                _("%(mb)d Mo au plus") % {"mb": mb},
            )
        ]
    content_type = detect_content_type(content[:16])
    if content_type is None:
        return None, [
            _error("file_type", _("Format non accepté : PDF, JPEG ou PNG seulement."), "PDF, JPEG, PNG")
        ]
    if content_type == "application/pdf":
        errors = _check_pdf(content)
        return (None, errors) if errors else (CheckedUpload(content, content_type), [])
    encoded, errors = _reencode_image(content, content_type, max_pixels)
    return (None, errors) if errors else (CheckedUpload(encoded, content_type), [])
