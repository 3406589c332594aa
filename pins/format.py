"""The PIN's text form: generating one, showing it grouped, and parsing what a person typed."""

import re
import secrets
from dataclasses import dataclass

from .constants import PIN_ALPHABET, PIN_GROUP, PIN_LENGTH, SECRET_LENGTH, SELECTOR_LENGTH

_SEPARATORS = re.compile(r"[\s\-\u00a0\u2010-\u2015_.]+")
_VALID = re.compile(f"[{PIN_ALPHABET}]{{{PIN_LENGTH}}}")


@dataclass(frozen=True)
class ParsedPin:
    normalized: str = ""

    @property
    def selector(self) -> str:
        return self.normalized[:SELECTOR_LENGTH]

    def __repr__(self) -> str:  # never show the PIN in a traceback or log line
        return "ParsedPin(***)"


def pin_generate(*, selector: str) -> str:
    """A PIN with the given selector and a fresh secret from the operating system's CSPRNG."""
    secret = "".join(secrets.choice(PIN_ALPHABET) for _ in range(SECRET_LENGTH))
    return selector + secret


def pin_display(normalized: str) -> str:
    """Grouped for reading: ABCD-EFGH-JKLM."""
    return "-".join(normalized[i : i + PIN_GROUP] for i in range(0, len(normalized), PIN_GROUP))


def pin_parse(value: object) -> ParsedPin | None:
    """Upper-cased with separators and surrounding spaces dropped; None unless it has the PIN's form."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    normalized = _SEPARATORS.sub("", value).upper()
    if not _VALID.fullmatch(normalized):
        return None
    return ParsedPin(normalized=normalized)
