"""The QR code of a document's verification URL: drawn by segno as SVG or PNG for pages and the
full render, and by zxing-cpp as a 1-bit image for the stamped forms (thousands a minute for a
dealer's batch). Both encode the same URL at level M."""

import base64
import io
import struct
import zlib

import segno
import zxingcpp

QR_MASK = 4


def qr_code(url: str) -> segno.QRCode:
    """The QR symbol of a verification URL as pages draw it (qr_svg, qr_png)."""
    # Level M survives a scratched or badly printed code; a byte-mode URL of ~200 characters
    # still fits a version-10 symbol that scans well at 25 mm. Any of the 8 masks is a valid QR
    # code; choosing the best one costs segno ~15 ms in pure Python, so every code uses the same
    # mask. A URL is encoded in byte mode whatever segno would detect; saying so skips its
    # per-character mode analysis (another ~2.5 ms).
    return segno.make_qr(url.encode(), error="m", boost_error=False, mask=QR_MASK, mode="byte")


def qr_svg(url: str, *, scale: int = 4) -> str:
    """An SVG document (no XML declaration) of the QR code of `url`, with the standard quiet zone."""
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, nl=False)
    return buffer.getvalue().decode()


def qr_png(url: str, *, scale: int = 4) -> bytes:
    """A PNG of the QR code of `url`, with the standard quiet zone."""
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


QR_BORDER = 4


# Pixels of zxing-cpp's image (0 dark, 255 light) to the bit characters of a 1-bit DeviceGray
# image, where 0 is black.
_GRAY_BITS = bytes.maketrans(b"\x00\xff", b"01")


def qr_image_rows(url: str) -> tuple[int, bytes]:
    """The QR code of `url` with its quiet zone as a 1-bit DeviceGray image: (side, packed rows),
    for the stamped forms.

    Encoded by zxing-cpp (C++) at the same level M: about 0.3 ms, where segno, pure Python, took
    about 2 ms, half of a stamped CPI's whole cost. The symbol may differ from qr_code's (another
    mask; zxing-cpp chooses the encoding modes, so sometimes a smaller version): both read as the
    same URL."""
    # The URL as text: given bytes, zxing-cpp marks the symbol as binary data (ECI 899), which a
    # phone may then not offer to open.
    barcode = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = memoryview(barcode.to_image(scale=1, add_quiet_zones=False))
    modules = image.shape[0]
    side = modules + 2 * QR_BORDER
    quiet = b"1" * QR_BORDER
    pad = b"1" * (-side % 8)
    row_bytes = (side + len(pad)) // 8
    blank = int(b"1" * (side + len(pad)), 2).to_bytes(row_bytes, "big")
    pixels = image.tobytes().translate(_GRAY_BITS)
    rows = [blank] * QR_BORDER
    for start in range(0, modules * modules, modules):
        bits = quiet + pixels[start : start + modules] + quiet + pad
        rows.append(int(bits, 2).to_bytes(row_bytes, "big"))
    rows += [blank] * QR_BORDER
    return side, b"".join(rows)


def qr_png_data_uri(url: str) -> str:
    """The QR code as a one-pixel-per-module PNG data URI (for the full render): the very image
    the stamped path embeds, written as a 1-bit grayscale PNG (same bit order: 0 is black)."""
    side, rows = qr_image_rows(url)
    row_bytes = len(rows) // side
    raw = b"".join(b"\x00" + rows[n * row_bytes : (n + 1) * row_bytes] for n in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
