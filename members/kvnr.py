"""The KVNR (Krankenversichertennummer): normalising what a person typed and checking its check digit."""

import re

_KVNR_RE = re.compile(r"[A-Z][0-9]{9}")
_IGNORED = re.compile(r"[\s\-\u00a0\u2010-\u2015./]+")


def kvnr_normalize(value: str) -> str:
    """Upper-case and drop spaces, hyphens, dots and slashes, as people copy the number from their card."""
    return _IGNORED.sub("", value or "").upper()


def kvnr_check_digit(head: str) -> int:
    """The check digit for a letter and eight digits: the letter as 01-26, weights 1,2,1,2..., digit sums, mod 10."""
    letter_number = ord(head[0]) - ord("A") + 1
    digits = f"{letter_number:02d}" + head[1:9]
    total = 0
    for index, char in enumerate(digits):
        product = int(char) * (1 if index % 2 == 0 else 2)
        total += product // 10 + product % 10
    return total % 10


def kvnr_is_valid(value: str) -> bool:
    """True for a normalised KVNR: one capital letter, eight digits and the matching check digit."""
    if not isinstance(value, str) or not _KVNR_RE.fullmatch(value) or not value.isascii():
        return False
    return kvnr_check_digit(value[:9]) == int(value[9])
