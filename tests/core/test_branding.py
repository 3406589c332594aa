"""The insurer's values are checked once, when the settings load: colour contrast, telephone number, logo file."""

import pytest

from core.branding import BrandingError, Insurer, check_brand_colour, contrast_ratio, read_logo, tel_uri

BASE = {
    "name": "Prüfkasse Nord",
    "hotline_phone": "040 66969 123",
    "hotline_hours_de": "Mo-Fr 8-18 Uhr",
    "postal_address": ["Prüfweg 2", "00000 Prüfstadt"],
    "brand_colour": "#0b4f8a",
}


def test_contrast_ratio_matches_wcag_for_black_on_white_and_the_same_colour():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#0b4f8a", "#0b4f8a") == pytest.approx(1.0)
    # WCAG's own example pair: #767676 on white is the lightest grey that passes AA (4.54:1).
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("colour", ["#ffcc00", "#7ab800", "#e30613", "#888888"])
def test_a_brand_colour_below_aa_contrast_is_refused_with_a_darker_suggestion(colour):
    with pytest.raises(BrandingError) as refused:
        check_brand_colour(colour)

    message = str(refused.value)
    assert f"INSURER_BRAND_COLOR={colour} is too light" in message
    assert "4.5:1" in message
    suggestion = message.rsplit("for example ", 1)[1].rstrip(".")
    assert check_brand_colour(suggestion) == suggestion


@pytest.mark.parametrize("colour", ["#0b4f8a", "#006400", "#B3121F", "#5a2d82"])
def test_a_brand_colour_with_aa_contrast_is_accepted(colour):
    assert check_brand_colour(colour) == colour.lower()


@pytest.mark.parametrize("colour", ["blue", "#fff", "0b4f8a", "#0b4f8g", ""])
def test_a_brand_colour_not_written_as_hex_is_refused(colour):
    with pytest.raises(BrandingError, match="#rrggbb"):
        check_brand_colour(colour)


@pytest.mark.parametrize(
    ("number", "uri"),
    [
        ("0800 123 4567", "tel:+498001234567"),
        ("+49 30 1234567", "tel:+49301234567"),
        ("040/66969-123", "tel:+494066969123"),
    ],
)
def test_the_tel_link_is_international(number, uri):
    assert tel_uri(number) == uri


def test_a_hotline_that_is_no_telephone_number_is_refused():
    with pytest.raises(BrandingError, match="INSURER_HOTLINE_PHONE"):
        Insurer.build(**{**BASE, "hotline_phone": "call us"})


def test_the_sender_line_and_short_name_default_from_name_and_address():
    insurer = Insurer.build(**BASE)
    short = Insurer.build(**BASE, short_name="PKN")

    assert insurer.sender_line == "Prüfkasse Nord · Prüfweg 2 · 00000 Prüfstadt"
    assert short.sender_line == "PKN · Prüfweg 2 · 00000 Prüfstadt"
    assert insurer.short_name == "Prüfkasse Nord"
    assert insurer.hotline_hours("en") == "Mo-Fr 8-18 Uhr"


def test_a_logo_must_be_a_small_png_or_svg(tmp_path):
    gif = tmp_path / "logo.gif"
    gif.write_bytes(b"GIF89a")
    fake_png = tmp_path / "logo.png"
    fake_png.write_bytes(b"<svg></svg>")
    huge = tmp_path / "huge.svg"
    huge.write_bytes(b"<svg>" + b" " * 600_000 + b"</svg>")

    with pytest.raises(BrandingError, match=r"\.svg or \.png"):
        read_logo(str(gif))
    with pytest.raises(BrandingError, match="not a PNG"):
        read_logo(str(fake_png))
    with pytest.raises(BrandingError, match="at most"):
        read_logo(str(huge))
    with pytest.raises(BrandingError, match="cannot be read"):
        read_logo(str(tmp_path / "missing.svg"))
