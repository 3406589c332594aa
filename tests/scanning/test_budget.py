"""Bounded work for every input: PDF streams decode under a budget counted while decoding, images are costed from
their header (progressive JPEG's coefficient buffers included), and the disarm runs in a child process whose
operating-system limits stop it, never the caller. Each hostile fixture is refused with the child's peak RSS
measured (/proc VmHWM of the child) and below the memory limit."""

import io
import random
import tempfile

import pikepdf
import pytest
from PIL import Image

from scanning.disarm import (
    DecodeBudget,
    ImageTooLarge,
    TooComplex,
    image_check,
    jpeg_coefficient_cost,
    pdf_disarm,
)
from scanning.sandbox import Limits, Outcome, disarm_isolated

from .hostile import (
    flate_bomb_pdf,
    image_bomb_pdf,
    lzw_encode,
    png_declaring,
    progressive_jpeg_declaring,
)
from .pdfs import TEXT, pdf_bytes

LIMITS = Limits()
GiB = 2**30


def isolated(data: bytes, *, mime: str = "application/pdf", limits: Limits = LIMITS) -> tuple[Outcome, bytes]:
    with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as strings:
        src.write(data)
        src.flush()
        outcome = disarm_isolated(src=src, out=out, strings=strings, mime=mime, limits=limits)
        return outcome, out.read()


def assert_refused_within_budget(outcome: Outcome, reason: str) -> None:
    assert outcome.refused == reason, outcome
    # The child's own high-water mark (/proc VmHWM, reported by the child and sampled while it ran).
    assert 0 < outcome.peak_rss < LIMITS.memory


def test_a_harmless_pdf_comes_back_disarmed_from_the_child():
    outcome, copy = isolated(pdf_bytes("all"))
    assert (outcome.mime, outcome.refused) == ("application/pdf", "")
    assert 0 < outcome.peak_rss < LIMITS.memory
    with pikepdf.open(io.BytesIO(copy)) as pdf:
        assert len(pdf.pages) == 1


def test_a_flate_bomb_of_one_gib_in_one_stream_is_refused_within_the_budget():
    bomb = flate_bomb_pdf(GiB)
    assert len(bomb) < 1_200_000
    assert_refused_within_budget(isolated(bomb)[0], "too_complex")


def test_a_flate_bomb_split_over_many_small_streams_is_refused_within_the_budget():
    bomb = flate_bomb_pdf(GiB, streams=1024)
    assert len(bomb) < 1_500_000
    assert_refused_within_budget(isolated(bomb)[0], "too_complex")


def test_a_decompression_bomb_in_an_image_xobject_is_refused_within_the_budget():
    bomb = image_bomb_pdf(GiB)
    with pikepdf.open(io.BytesIO(bomb)) as pdf:
        image = pdf.pages[0].Resources.XObject.Im0
        assert image.Subtype == "/Image" and int(image.Width) * int(image.Height) == GiB
    assert_refused_within_budget(isolated(bomb)[0], "too_complex")


def test_a_progressive_13000_pixel_square_jpeg_is_refused_within_the_budget():
    jpeg = progressive_jpeg_declaring(13000, 13000)
    assert len(jpeg) < 10_000
    assert_refused_within_budget(isolated(jpeg, mime="image/jpeg")[0], "image_too_large")


def test_the_budget_stops_decoding_while_it_decodes():
    """The budget raises within one piece past its limit: the 1 GiB stream is never decoded whole."""
    budget = DecodeBudget(total=8 * 2**20, floor=8 * 2**20)
    with pytest.raises(TooComplex):
        pdf_disarm(io.BytesIO(flate_bomb_pdf(GiB)), io.BytesIO(), budget=budget)
    assert budget.limit < budget.used <= budget.limit + 2 * 256 * 1024


def test_a_small_pdf_may_expand_to_the_floor_but_not_by_more_than_the_ratio():
    budget = DecodeBudget(total=512 * 2**20, ratio=100, floor=32 * 2**20)
    assert budget.start(1_000).limit == 32 * 2**20
    assert budget.start(1_000_000).limit == 100_000_000
    assert budget.start(20_000_000).limit == 512 * 2**20


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_progressive_jpeg_counts_its_coefficient_buffers_from_the_header():
    """Today's check drafted it to 1/4 and let it through; libjpeg then held 1 GB of coefficients."""
    with Image.open(io.BytesIO(progressive_jpeg_declaring(13000, 13000))) as image:
        assert jpeg_coefficient_cost(image) == 3 * 1625**2 * 64 * 2  # 1,014,000,000 bytes
    with pytest.raises(ImageTooLarge) as refused:
        image_check(io.BytesIO(progressive_jpeg_declaring(13000, 13000)), budget=200 * 2**20)
    assert (refused.value.width, refused.value.height) == (13000, 13000)


def test_a_progressive_phone_photo_still_fits_the_budget():
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 90, 200)).save(out, "JPEG", progressive=True, quality=60)
    with Image.open(io.BytesIO(out.getvalue())) as image:
        assert 0 < jpeg_coefficient_cost(image) < 200 * 2**20
    assert image_check(io.BytesIO(out.getvalue()), budget=200 * 2**20) == (4000, 3000)


def test_a_baseline_jpeg_has_no_coefficient_buffers():
    out = io.BytesIO()
    Image.new("RGB", (400, 300)).save(out, "JPEG")
    with Image.open(io.BytesIO(out.getvalue())) as image:
        assert jpeg_coefficient_cost(image) == 0


def test_a_pixel_flood_is_too_many_pixels_not_a_damaged_file():
    """Beyond twice Pillow's own limit Pillow refuses to open the file; that is still a pixel count."""
    flood = png_declaring(14000, 14000)
    with pytest.raises(ImageTooLarge) as refused:
        image_check(io.BytesIO(flood), budget=200 * 2**20)
    assert (refused.value.width, refused.value.height) == (14000, 14000)


def test_the_memory_limit_stops_the_child_not_the_caller():
    """A child allowed far too little memory for a harmless image dies or gives up; the caller gets an answer."""
    photo = io.BytesIO()
    Image.new("RGB", (3000, 3000), (1, 2, 3)).save(photo, "PNG")
    tight = Limits(memory=16 * 2**20, image_budget=1024 * 2**20)
    outcome, _copy = isolated(photo.getvalue(), mime="image/png", limits=tight)
    assert outcome.refused == "too_complex"


def test_the_wall_clock_limit_kills_the_child():
    # A forked child disarms a small PDF in a few milliseconds: the file must take far longer than the limit.
    photo = io.BytesIO()
    Image.effect_noise((4000, 4000), 64).convert("RGB").save(photo, "PNG", compress_level=1)
    outcome, _copy = isolated(photo.getvalue(), mime="image/png", limits=Limits(wall_seconds=0.05))
    assert (outcome.refused, outcome.detail) == ("too_complex", "wall-clock limit")


def test_our_lzw_decoder_agrees_with_qpdf():
    rng = random.Random(7)
    data = bytes(rng.choice(b"abcab \n\x00") for _ in range(60_000)) + rng.randbytes(20_000)
    encoded = lzw_encode(data)
    pdf = pikepdf.new()
    stream = pdf.make_stream(b"")
    stream.write(encoded, filter=pikepdf.Name.LZWDecode)
    assert stream.read_bytes() == data
    source = pikepdf.new()
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=pikepdf.Array([0, 0, 10, 10]))
    content = source.make_stream(b"")
    content.write(
        lzw_encode(f"BT ({TEXT}) Tj ET ".encode() + b"%" + data.replace(b"\n", b" ")), filter=pikepdf.Name.LZWDecode
    )
    page.Contents = content
    source.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    source.save(out)
    copy = io.BytesIO()
    pdf_disarm(io.BytesIO(out.getvalue()), copy)
    with pikepdf.open(io.BytesIO(copy.getvalue())) as result:
        stream = result.pages[0].Contents
        assert stream.Filter == "/FlateDecode"
        assert stream.read_bytes().endswith(data.replace(b"\n", b" "))


def test_the_member_is_told_a_pixel_flood_has_too_many_pixels(settings):
    from uploads.exceptions import InvalidFile
    from uploads.files import file_clean

    with pytest.raises(InvalidFile, match=r"zu viele Bildpunkte \(14000 x 14000\)"):
        file_clean(io.BytesIO(png_declaring(14000, 14000)), mime="image/png")


def test_an_interrupted_check_leaves_no_child_behind(monkeypatch):
    """Celery's soft time limit raises in the waiting parent: the child is killed and reaped, not orphaned."""
    import os

    from scanning import sandbox

    started = []

    def interrupted(pid, deadline, ended=None):
        started.append(pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(sandbox, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        isolated(pdf_bytes())
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0], os.WNOHANG)  # already reaped
    assert not os.path.exists(f"/proc/{started[0]}")
