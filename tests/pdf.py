"""PDF pages as images, through pypdfium2 (a pip wheel), so that no test needs poppler's pdftoppm."""

import pypdfium2
from PIL import Image


def rasterise(pdf: bytes, *, dpi: int, page: int = 0) -> Image.Image:
    """Page `page` of `pdf` rendered at `dpi`, as an RGB image (what a scanner would see)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        # PDF user space is 72 units per inch.
        return document[page].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()
