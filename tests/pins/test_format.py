"""Tests for pins/format.py: PIN generation, grouping and parsing of typed input."""

import math

from hypothesis import given
from hypothesis import strategies as st

from pins.constants import PIN_ALPHABET, PIN_LENGTH, SECRET_LENGTH
from pins.format import pin_display, pin_generate, pin_parse


def test_alphabet_has_no_look_alikes():
    assert not set("0O1Il") & set(PIN_ALPHABET)
    assert len(set(PIN_ALPHABET)) == len(PIN_ALPHABET) == 32


def test_secret_part_carries_at_least_50_bits():
    assert SECRET_LENGTH * math.log2(len(PIN_ALPHABET)) >= 50


def test_generated_pin_keeps_selector_and_uses_only_the_alphabet():
    pin = pin_generate(selector="AB")
    assert pin.startswith("AB")
    assert len(pin) == PIN_LENGTH
    assert set(pin) <= set(PIN_ALPHABET)


def test_generated_secrets_differ():
    assert len({pin_generate(selector="AB") for _ in range(200)}) == 200


def test_display_groups_by_four():
    assert pin_display("ABCDEFGHJKLM") == "ABCD-EFGH-JKLM"


def test_parse_ignores_separators_spaces_and_case():
    assert pin_parse("  abcd efgh-jklm ").normalized == "ABCDEFGHJKLM"


def test_parse_rejects_look_alikes_and_wrong_length():
    assert pin_parse("ABCD-EFGH-JKL0") is None
    assert pin_parse("ABCD-EFGH-JKL") is None
    assert pin_parse("ABCD-EFGH-JKLMN") is None


def test_parsed_pin_never_shows_itself_in_repr():
    assert "ABCD" not in repr(pin_parse("ABCD-EFGH-JKLM"))


@given(st.one_of(st.text(), st.binary(), st.none(), st.integers()))
def test_any_input_is_parsed_or_cleanly_rejected(value):
    parsed = pin_parse(value)
    assert parsed is None or (len(parsed.normalized) == PIN_LENGTH and set(parsed.normalized) <= set(PIN_ALPHABET))


@given(st.text(alphabet=PIN_ALPHABET, min_size=PIN_LENGTH, max_size=PIN_LENGTH))
def test_displayed_pin_parses_back_to_itself(pin):
    assert pin_parse(pin_display(pin).lower()).normalized == pin
