"""Login attempts shared by the PIN engine's and the login page's tests: each way a login goes, as (KVNR, PIN)."""

from pins.constants import PinStatus
from pins.models import LetterPin
from tests.factories import MemberFactory, make_kvnr

# The failing ways that must look alike from outside: same work, same page.
FAILING = ("unknown KVNR", "wrong PIN", "no such selector", "locked PIN")


def wrong_secret(plaintext: str) -> str:
    """The PIN with the same selector and another last character: a wrong entry counted against that PIN."""
    return plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")


def login_cases(issue_pin) -> dict[str, tuple[str, str]]:
    """Two members with a PIN each, one of them locked: the right entry and every failing way, by name."""
    member = MemberFactory()
    issued = issue_pin(member)
    locked_member = MemberFactory()
    locked = issue_pin(locked_member)
    LetterPin.objects.filter(pk=locked.pin.pk).update(status=PinStatus.LOCKED, failed_attempts=5)
    unused = next(a + b for a in "CDEFGH" for b in "JKLMNP" if a + b != issued.pin.selector)
    return {
        "right": (member.kvnr, issued.plaintext),
        "unknown KVNR": (make_kvnr(77_777_777), issued.plaintext),
        "wrong PIN": (member.kvnr, wrong_secret(issued.plaintext)),
        "no such selector": (member.kvnr, unused + issued.plaintext[2:]),
        "locked PIN": (locked_member.kvnr, locked.plaintext),
    }
