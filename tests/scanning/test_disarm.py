"""Content disarm: hostile PDFs lose every kind of active content but keep their text; images keep only pixels."""

import io
import subprocess

import pikepdf
import pytest
from PIL import Image, PngImagePlugin

from scanning.disarm import DisarmFailed, ImageTooLarge, image_check, image_disarm, pdf_active_content, pdf_disarm

from .pdfs import HOSTILE, TEXT, pdf_bytes

BUDGET = 100 * 2**20


def disarmed(data: bytes) -> bytes:
    out = io.BytesIO()
    pdf_disarm(io.BytesIO(data), out)
    return out.getvalue()


def pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_each_kind_of_active_content_is_present_before_and_gone_after(kind):
    hostile = pdf_bytes(kind)
    with pikepdf.open(io.BytesIO(hostile)) as pdf:
        assert pdf_active_content(pdf), f"the test PDF for {kind} carries nothing active"
    safe = disarmed(hostile)
    with pikepdf.open(io.BytesIO(safe)) as pdf:
        assert pdf_active_content(pdf) == []
        assert len(pdf.pages) == 1
    assert TEXT in pdftotext(safe)


def test_all_kinds_at_once_leave_nothing_and_no_attachment_bytes():
    safe = disarmed(pdf_bytes("all"))
    with pikepdf.open(io.BytesIO(safe)) as pdf:
        assert pdf_active_content(pdf) == []
    assert b"MZ\x90\x00" not in safe and b"app.alert" not in safe and b"cmd.exe" not in safe
    assert TEXT in pdftotext(safe)


def test_pikepdf_sanitize_alone_leaves_xfa_and_open_action_behind():
    """Why disarm adds its own pass: what the library deliberately keeps."""
    from pikepdf.sanitize import Sanitizer

    with pikepdf.open(io.BytesIO(pdf_bytes("xfa", "document_additional_actions"))) as pdf:
        Sanitizer().remove_javascript().remove_external_access().remove_attachments().apply(pdf)
        assert "/XFA" in pdf.Root.AcroForm


def test_a_broken_pdf_cannot_be_disarmed():
    with pytest.raises(DisarmFailed):
        disarmed(b"%PDF-1.7\n this is not a pdf")


# --- images


def jpeg_with_everything() -> bytes:
    image = Image.new("RGB", (40, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: must be turned upright
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS
    out = io.BytesIO()
    image.save(
        out, "JPEG", exif=exif.tobytes(), comment=b"GPS 52.52N <script>x</script>", icc_profile=b"ICCPROFILE" * 20
    )
    data = out.getvalue()
    # An APP13 (IPTC) and an XMP APP1 segment after SOI, and trailing bytes after EOI.
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret</x:xmpmeta>"
    iptc = b"Photoshop 3.0\0" + b"8BIM\x04\x04\0\0\0\0\0\x05secret"
    segments = b"".join(m + (len(p) + 2).to_bytes(2, "big") + p for m, p in ((b"\xff\xe1", xmp), (b"\xff\xed", iptc)))
    return data[:2] + segments + data[2:] + b"TRAILING-PAYLOAD"


def markers(jpeg: bytes) -> set[int]:
    found, pos = set(), 2
    while pos < len(jpeg) and jpeg[pos] == 0xFF and jpeg[pos + 1] != 0xDA:
        found.add(jpeg[pos + 1])
        pos += 2 + int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
    return found


def test_jpeg_keeps_only_pixels_turned_upright():
    source = jpeg_with_everything()
    assert {0xE1, 0xED, 0xFE, 0xE2} <= markers(source)
    out = io.BytesIO()
    assert image_disarm(io.BytesIO(source), out, mime="image/jpeg", budget=BUDGET) == "image/jpeg"
    data = out.getvalue()
    # Only JFIF's APP0, quantisation/huffman tables and the frame header: no APP1-15, no COM.
    assert not {m for m in markers(data) if 0xE1 <= m <= 0xEF or m == 0xFE}
    for secret in (b"GPS", b"script", b"secret", b"ICCPROFILE", b"TRAILING"):
        assert secret not in data
    assert data.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(data)) as result:
        assert result.size == (20, 40)  # orientation 6 applied before EXIF went
        assert not result.getexif() and "icc_profile" not in result.info and "comment" not in result.info


def test_png_keeps_only_pixels():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "GPS 52.52N")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 0, 255, 128)).save(out, "PNG", pnginfo=info, icc_profile=b"ICCPROFILE" * 20)
    source = out.getvalue() + b"TRAILING-PAYLOAD"
    cleaned = io.BytesIO()
    assert image_disarm(io.BytesIO(source), cleaned, mime="image/png", budget=BUDGET) == "image/png"
    data = cleaned.getvalue()
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"eXIf", b"TRAILING"):
        assert chunk not in data
    with Image.open(io.BytesIO(data)) as result:
        assert result.getpixel((5, 5)) == (0, 0, 255, 128)


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares width x height (the pixels compress to almost nothing)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height)).save(out, "PNG")
    return out.getvalue()


def test_a_png_declaring_49_megapixels_is_refused_from_its_header():
    data = png_declaring(7000, 7000)
    assert len(data) < 400_000
    with pytest.raises(ImageTooLarge) as refused:
        image_check(io.BytesIO(data), budget=BUDGET)
    assert (refused.value.width, refused.value.height) == (7000, 7000)


def test_a_large_jpeg_is_shrunk_while_decoding_to_fit_the_budget():
    out = io.BytesIO()
    Image.new("RGB", (8000, 6000), (10, 200, 10)).save(out, "JPEG", quality=50)
    cleaned = io.BytesIO()
    image_disarm(io.BytesIO(out.getvalue()), cleaned, mime="image/jpeg", budget=BUDGET, min_long_edge=None)
    with Image.open(cleaned) as result:
        assert result.size == (4000, 3000)


def photographed_page(size: tuple[int, int], *, orientation: int, **save) -> tuple[bytes, int]:
    """A phone photo of a page, stored sideways with an EXIF orientation as phones do: a black bar across the
    top of the page as its "text line" (the stroke height of 8 pt print photographed at 12 MP) and a black square
    in the page's top left corner; with EXIF, XMP, ICC and a comment. Returns the file and the stroke height."""
    from PIL import ImageDraw

    upright = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(upright)
    width, height = size
    stroke = max(width, height) // 180  # 8 pt cap height (2 mm) on an A4 page (297 mm) filling the long edge
    draw.rectangle((width // 4, height // 8, width * 3 // 4, height // 8 + stroke), fill=(0, 0, 0))
    draw.rectangle((0, 0, width // 10, width // 10), fill=(0, 0, 0))
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back clockwise
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Phone"
    out = io.BytesIO()
    xmp = b"<x:xmpmeta>secret</x:xmpmeta>"
    sideways.save(out, "JPEG", quality=85, exif=exif.tobytes(), icc_profile=b"ICCPROFILE" * 20, xmp=xmp, **save)
    return out.getvalue(), stroke


def dark_rows(image: Image.Image, column: int) -> list[int]:
    grey = image.convert("L")
    return [y for y in range(image.height) if grey.getpixel((column, y)) < 100]


def test_a_12_megapixel_photo_is_decoded_at_half_size_upright_legible_and_without_metadata():
    """A 12 MP phone photo (4032 x 3024, stored sideways) becomes 1512 x 2016 upright: the long edge stays at
    least PHOTO_MIN_LONG_EDGE, the text line keeps at least the stroke of 8 pt print at 150 dpi (4 px), the
    corner mark is top left, and no EXIF, XMP, ICC or comment survives."""
    from scanning.disarm import PHOTO_MIN_LONG_EDGE

    source, stroke = photographed_page((3024, 4032), orientation=6)
    with Image.open(io.BytesIO(source)) as original:
        assert original.size == (4032, 3024) and original.getexif()[0x0112] == 6
    out = io.BytesIO()
    assert image_disarm(io.BytesIO(source), out, mime="image/jpeg", budget=BUDGET) == "image/jpeg"
    data = out.getvalue()
    assert not {m for m in markers(data) if 0xE1 <= m <= 0xEF or m == 0xFE}
    for secret in (b"Exif", b"xmpmeta", b"ICCPROFILE", b"Phone"):
        assert secret not in data
    with Image.open(io.BytesIO(data)) as result:
        assert result.size == (1512, 2016) and max(result.size) >= PHOTO_MIN_LONG_EDGE
        assert not result.getexif() and "icc_profile" not in result.info and "xmp" not in result.info
        line = dark_rows(result, result.width // 2)
        assert len(line) >= stroke // 2 >= 4  # halved, never thinner: 2 mm print is still 11 px
        assert line[0] < result.height // 4  # the text line is near the top: upright
        assert result.convert("L").getpixel((5, 5)) < 100  # the corner mark is top left
        assert result.convert("L").getpixel((result.width - 5, 5)) > 200


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1200, 1600), (1200, 1600)),  # below twice the minimum: every pixel kept
        ((3000, 4000), (1500, 2000)),
        ((4284, 5712), (2142, 2856)),  # 24 MP
        ((6000, 8000), (1500, 2000)),  # 48 MP: a quarter each way, decoded so
    ],
)
def test_photos_keep_a_long_edge_of_at_least_the_minimum(size, expected):
    source, _stroke = photographed_page(size, orientation=6, progressive=False)
    out = io.BytesIO()
    image_disarm(io.BytesIO(source), out, mime="image/jpeg", budget=200 * 2**20)
    with Image.open(out) as result:
        assert result.size == expected


def test_a_large_png_is_halved_by_a_box_and_keeps_its_orientation_and_pixels():
    image = Image.new("RGB", (4400, 3000), (255, 255, 255))
    image.paste((0, 0, 0), (0, 0, 400, 400))
    exif = Image.Exif()
    exif[0x0112] = 3  # upside down
    source = io.BytesIO()
    image.save(source, "PNG", exif=exif.tobytes())
    out = io.BytesIO()
    assert image_disarm(io.BytesIO(source.getvalue()), out, mime="image/png", budget=200 * 2**20) == "image/png"
    assert b"eXIf" not in out.getvalue()
    with Image.open(out) as result:
        assert result.size == (2200, 1500)
        assert result.getpixel((2199, 1499)) == (0, 0, 0) and result.getpixel((0, 0)) == (255, 255, 255)


def test_the_default_budget_takes_a_24_megapixel_phone_photo_and_refuses_49_megapixels():
    """Current phones save 24 MP (5712 x 4284) by default: the budget must take them; the pixel flood stays out."""
    from django.conf import settings as django_settings

    budget = django_settings.UPLOAD_IMAGE_MEMORY_BUDGET
    out = io.BytesIO()
    Image.new("RGB", (5712, 4284), (200, 200, 200)).save(out, "PNG")
    assert image_check(io.BytesIO(out.getvalue()), budget=budget) == (5712, 4284)
    flood = io.BytesIO()
    Image.new("1", (7000, 7000)).convert("RGB").save(flood, "PNG")
    with pytest.raises(ImageTooLarge):
        image_check(io.BytesIO(flood.getvalue()), budget=budget)


def test_anything_left_after_the_rewrite_refuses_the_file(monkeypatch):
    """Fail closed: should the strip pass miss something, the check of the rewritten copy refuses it."""
    from scanning import disarm

    monkeypatch.setattr(disarm, "_strip", lambda pdf: None)
    monkeypatch.setattr(disarm, "Sanitizer", _NoSanitizer)
    with pytest.raises(disarm.ActiveContentLeft, match="/OpenAction"):
        disarmed(pdf_bytes("open_action_javascript"))


def test_an_embedded_file_under_any_key_is_found_by_the_check_and_removed_by_the_disarm():
    from tests.scanning.hostile import embedded_under_custom_key

    hostile = embedded_under_custom_key(b"MZ payload")
    with pikepdf.open(io.BytesIO(hostile)) as pdf:
        assert {"/EF", "/EmbeddedFile"} <= set(pdf_active_content(pdf))
    safe = disarmed(hostile)
    assert b"MZ payload" not in safe
    with pikepdf.open(io.BytesIO(safe)) as pdf:
        assert pdf_active_content(pdf) == []


class _NoSanitizer:
    def __getattr__(self, name):
        return lambda *args: self
