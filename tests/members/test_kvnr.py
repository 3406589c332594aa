"""Tests for members/kvnr.py: normalising and check-digit validation of the KVNR."""

import string

from hypothesis import given
from hypothesis import strategies as st

from members.kvnr import kvnr_check_digit, kvnr_is_valid, kvnr_normalize


def test_published_example_number_is_valid():
    assert kvnr_is_valid("A123456780")


def test_wrong_check_digit_is_rejected():
    assert not kvnr_is_valid("A123456781")


def test_check_digit_maps_letter_to_two_digits_and_sums_digits_of_products():
    # Z=26 -> 2,6 then 1..8; weights 1,2,...: 2,12->3,1,4,3,8,5,12->3,7,16->7 = 43 -> 3
    assert kvnr_check_digit("Z12345678") == 3
    assert kvnr_is_valid("Z123456783")


def test_normalize_drops_spaces_hyphens_and_upper_cases():
    assert kvnr_normalize(" a 123-456 780 ") == "A123456780"


def test_lower_case_and_other_forms_are_not_valid_before_normalising():
    assert not kvnr_is_valid("a123456780")
    assert not kvnr_is_valid("A12345678")
    assert not kvnr_is_valid("AA23456780")
    assert not kvnr_is_valid("A" + "\uff11" * 8 + "0")  # full-width digits are not ASCII digits


@given(st.text())
def test_any_text_is_cleanly_accepted_or_rejected(text):
    result = kvnr_is_valid(kvnr_normalize(text))
    assert isinstance(result, bool)


@given(st.sampled_from(string.ascii_uppercase), st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_exactly_one_check_digit_makes_a_number_valid(letter, digits):
    valid = [d for d in "0123456789" if kvnr_is_valid(letter + digits + d)]
    assert valid == [str(kvnr_check_digit(letter + digits))]
