"""The insurer behind the portal: name, hotline, address, legal contacts, logo and brand colour, in one value.

settings.INSURER holds one Insurer, built from the environment by portal/settings.py; every page, letter, receipt
and error page reads it from there. Nothing here imports Django, so the settings can build and check it while they
load, and a bad value stops the start with a message that says which variable to change.
"""

import base64
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

# WCAG 2.x AA for normal text: the brand colour carries white text (header, buttons) and is the colour of links on
# the page's white and on the light grey of the footer and panels (static/css/portal.css: --bg and --surface).
AA_CONTRAST = 4.5
WHITE = "#ffffff"
SURFACE = "#f3f5f7"
# Logos: PNG or SVG only, small enough to load on every page from a phone.
LOGO_MAX_BYTES = 512 * 1024
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LOGO_DATA_PREFIXES = tuple(f"data:{content_type};base64," for content_type in LOGO_TYPES.values())
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_PHONE = re.compile(r"(\+49|0)[0-9 /-]{5,20}")


class BrandingError(ValueError):
    """A configured value of the insurer cannot be used; the message names the variable and what to set."""


def _channel(value: int) -> float:
    value = value / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of "#rrggbb"."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two "#rrggbb" colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def shade(colour: str, factor: float) -> str:
    """The colour with each channel multiplied by factor (below 1: darker), as "#rrggbb"."""
    channels = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return "#" + "".join(f"{min(255, max(0, round(value * factor))):02x}" for value in channels)


def lightest_passing_shade(colour: str) -> str:
    """The lightest shade of colour (same hue) that keeps AA contrast against white and the surface grey."""
    factor = 1.0
    candidate = colour
    while factor > 0 and min(contrast_ratio(candidate, WHITE), contrast_ratio(candidate, SURFACE)) < AA_CONTRAST:
        factor -= 0.02
        candidate = shade(colour, factor)
    return candidate


def check_brand_colour(colour: str, *, variable: str = "INSURER_BRAND_COLOR") -> str:
    """colour in lower case when it keeps AA contrast where the portal uses it; BrandingError saying why not."""
    if not _HEX_COLOUR.fullmatch(colour or ""):
        raise BrandingError(f"{variable} must be a colour written as #rrggbb (for example #0b4f8a), not {colour!r}.")
    colour = colour.lower()
    on_white = contrast_ratio(colour, WHITE)
    on_surface = contrast_ratio(colour, SURFACE)
    if min(on_white, on_surface) < AA_CONTRAST:
        raise BrandingError(
            f"{variable}={colour} is too light: the portal puts white text on it and uses it for links on white "
            f"and on light grey ({SURFACE}), where it reaches only {on_white:.1f}:1 and {on_surface:.1f}:1; "
            f"WCAG AA needs {AA_CONTRAST}:1. Choose a darker shade, for example {lightest_passing_shade(colour)}."
        )
    return colour


def check_phone(number: str, *, variable: str = "INSURER_HOTLINE_PHONE") -> str:
    if not _PHONE.fullmatch(number or ""):
        raise BrandingError(
            f"{variable} must be a German telephone number as printed, e.g. '0800 123 4567' or '+49 30 1234567', "
            f"not {number!r}."
        )
    return number


def tel_uri(number: str) -> str:
    """The tel: link of a German number as printed: '0800 123 4567' -> 'tel:+498001234567'."""
    digits = re.sub(r"[^0-9+]", "", number)
    return "tel:" + (digits if digits.startswith("+") else "+49" + digits[1:])


def data_uri(data: bytes, content_type: str) -> str:
    """The logo as a data: address for PDFs (which fetch nothing), or "" without one."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}" if data else ""


def read_logo(path: str, *, variable: str = "INSURER_LOGO") -> tuple[bytes, str]:
    """The logo file's bytes and content type; BrandingError unless it is a readable, small PNG or SVG."""
    logo = Path(path)
    content_type = LOGO_TYPES.get(logo.suffix.lower())
    if content_type is None:
        raise BrandingError(f"{variable} must name an .svg or .png file, not {path!r}.")
    try:
        size = logo.stat().st_size
        if size > LOGO_MAX_BYTES:
            raise BrandingError(f"{variable} ({path}) has {size} bytes; at most {LOGO_MAX_BYTES} are allowed.")
        data = logo.read_bytes()
    except OSError as error:
        raise BrandingError(f"{variable} ({path}) cannot be read: {error.strerror}.") from None
    if content_type == "image/png" and not data.startswith(PNG_SIGNATURE):
        raise BrandingError(f"{variable} ({path}) is not a PNG file.")
    if content_type == "image/svg+xml" and b"<svg" not in data[:4096]:
        raise BrandingError(f"{variable} ({path}) is not an SVG file.")
    return data, content_type


@dataclass(frozen=True)
class Insurer:
    """What the member sees of the insurer, everywhere: pages, letters, receipt, error pages."""

    name: str
    short_name: str
    hotline_phone: str
    # When (and on what terms) the hotline answers, printed after the number; English falls back to German.
    hotline_hours_de: str
    hotline_hours_en: str
    postal_address: tuple[str, ...]
    # The one line above the address window of a letter (the return address for the post).
    sender_line: str
    website: str
    imprint_url: str
    privacy_contact: tuple[str, ...]
    brand_colour: str
    logo_path: str = ""
    logo: bytes = field(default=b"", repr=False, compare=False)
    logo_type: str = ""

    @classmethod
    def build(
        cls,
        *,
        name: str,
        short_name: str = "",
        hotline_phone: str,
        hotline_hours_de: str,
        hotline_hours_en: str = "",
        postal_address: list[str] | tuple[str, ...],
        sender_line: str = "",
        website: str = "",
        imprint_url: str = "",
        privacy_contact: list[str] | tuple[str, ...] = (),
        brand_colour: str,
        logo_path: str = "",
    ) -> "Insurer":
        """The insurer with every value checked and the derived ones filled in; BrandingError on a bad value."""
        for variable, url in (("INSURER_WEBSITE", website), ("INSURER_IMPRINT_URL", imprint_url)):
            if url and not url.startswith(("https://", "http://")):
                raise BrandingError(f"{variable} must be an address starting with https://, not {url!r}.")
        address = tuple(line.strip() for line in postal_address if line.strip())
        logo, logo_type = read_logo(logo_path) if logo_path else (b"", "")
        return cls(
            name=name.strip(),
            short_name=(short_name or name).strip(),
            hotline_phone=check_phone(hotline_phone.strip()),
            hotline_hours_de=hotline_hours_de.strip(),
            hotline_hours_en=(hotline_hours_en or hotline_hours_de).strip(),
            postal_address=address,
            # The return line must fit the envelope's window in one or two lines: the short name, then the address.
            sender_line=(sender_line or " · ".join([(short_name or name).strip(), *address])).strip(),
            website=website,
            imprint_url=imprint_url,
            privacy_contact=tuple(line.strip() for line in privacy_contact if line.strip()),
            brand_colour=check_brand_colour(brand_colour),
            logo_path=logo_path,
            logo=logo,
            logo_type=logo_type,
        )

    @property
    def hotline_tel(self) -> str:
        return tel_uri(self.hotline_phone)

    def hotline_hours(self, language: str) -> str:
        return self.hotline_hours_en if language == "en" else self.hotline_hours_de

    @property
    def brand_dark(self) -> str:
        """The darker partner of the brand colour (borders, pressed buttons)."""
        return shade(self.brand_colour, 0.75)

    @property
    def logo_extension(self) -> str:
        return {"image/svg+xml": "svg", "image/png": "png"}.get(self.logo_type, "")

    @property
    def version(self) -> str:
        """Changes whenever the colour or the logo does: the cache-busting part of their addresses."""
        digest = hashlib.sha256(self.brand_colour.encode() + b"\0" + self.logo)
        return digest.hexdigest()[:12]
