"""The PIN rules, one import point: `from pins.services import ...` reaches them all.

Issuing in `issuing`, checking a login attempt in `verification`, how long a PIN works in `validity`, and ending
PINs (invalidation, expiry, purge) in `ending`.
"""

from .ending import pin_expire_due, pin_invalidate, pin_invalidate_all, pin_purge_dead
from .issuing import IssuedPin, pin_issue, pins_issue_many
from .validity import pin_is_expired, pin_is_usable, pin_valid_until, pin_validity
from .verification import LoginEntry, VerifyOutcome, login_entry_parse, pin_verify, pin_verify_entry

__all__ = [
    "IssuedPin",
    "LoginEntry",
    "VerifyOutcome",
    "login_entry_parse",
    "pin_expire_due",
    "pin_invalidate",
    "pin_invalidate_all",
    "pin_is_expired",
    "pin_is_usable",
    "pin_issue",
    "pin_purge_dead",
    "pin_valid_until",
    "pin_validity",
    "pin_verify",
    "pin_verify_entry",
    "pins_issue_many",
]
