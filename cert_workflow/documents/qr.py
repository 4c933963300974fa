"""The QR code of a document's verification URL: one symbol, drawn as SVG or PNG for pages and
as a 1-bit image for the stamped forms."""

import io

import segno

QR_MASK = 4


def qr_code(url: str) -> segno.QRCode:
    """The QR symbol of a verification URL: the one every document and helper here draws."""
    # Level M survives a scratched or badly printed code; a byte-mode URL of ~200 characters
    # still fits a version-10 symbol that scans well at 25 mm. Any of the 8 masks is a valid QR
    # code; choosing the best one costs segno ~15 ms in pure Python (most of a stamped document's
    # time), so every document uses the same mask. A URL is encoded in byte mode whatever segno
    # would detect; saying so skips its per-character mode analysis (another ~2.5 ms).
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


def qr_matrix(url: str) -> list[list[int]]:
    """The QR modules of `url` (1 = dark), with its quiet zone."""
    return [list(row) for row in qr_code(url).matrix_iter(scale=1, border=QR_BORDER)]


# Module values (0 light, 1 dark) to the bit characters of a DeviceGray image, where 0 is black.
_GRAY_BITS = bytes.maketrans(b"\x00\x01", b"10")


def qr_image_rows(url: str) -> tuple[int, bytes]:
    """The QR code of `url` with its quiet zone as a 1-bit DeviceGray image: (side, packed rows).

    The same modules as qr_matrix, packed with bytes operations instead of one Python call per
    module (the packing used to cost as much as the encoding)."""
    matrix = qr_code(url).matrix
    side = len(matrix) + 2 * QR_BORDER
    quiet = b"1" * QR_BORDER
    pad = b"1" * (-side % 8)
    row_bytes = (side + len(pad)) // 8
    blank = int(b"1" * (side + len(pad)), 2).to_bytes(row_bytes, "big")
    rows = [blank] * QR_BORDER
    for row in matrix:
        bits = quiet + bytes(row).translate(_GRAY_BITS) + quiet + pad
        rows.append(int(bits, 2).to_bytes(row_bytes, "big"))
    rows += [blank] * QR_BORDER
    return side, b"".join(rows)


def qr_png_data_uri(url: str) -> str:
    """The QR code as a one-pixel-per-module PNG: the same image the stamped path embeds."""
    return qr_code(url).png_data_uri(scale=1, border=QR_BORDER)
