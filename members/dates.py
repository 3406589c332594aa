"""Reading a date as the insurer and the call centre write it: JJJJ-MM-TT or TT.MM.JJJJ."""

import datetime

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")


def date_parse(text: str) -> datetime.date | None:
    """The date in `text` (surrounding blanks ignored) in one of DATE_FORMATS, or None."""
    text = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None
