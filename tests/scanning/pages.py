"""Documents of several pages with text on each, built at test time for the viewer's rendering (scanning.render)."""

import io

import pikepdf
from pikepdf import Array, Dictionary, Name
from PIL import Image


def pages_pdf(texts: list[str], *, size: tuple[float, float] = (595, 842), rotate: int = 0) -> bytes:
    """One page per text (Helvetica, 18 pt, near the top); every page `size` points, turned by `rotate`."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding)
    )
    for text in texts:
        content = pdf.make_stream(f"BT /F1 18 Tf 72 {size[1] - 100:.0f} Td ({text}) Tj ET".encode("cp1252"))
        page = Dictionary(
            Type=Name.Page,
            MediaBox=Array([0, 0, *size]),
            Resources=Dictionary(Font=Dictionary(F1=font)),
            Contents=content,
        )
        if rotate:
            page.Rotate = rotate
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def photo_jpeg(size: tuple[int, int] = (2400, 1800), colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A plain "photo" as a phone sends it (JPEG)."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    return out.getvalue()
