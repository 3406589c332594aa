"""Factories for the letters app: its models, and the made-up content of a letter (for rendering without rows)."""

import dataclasses
import datetime

import factory

from letters.models import LetterRequest, PrintBatch
from letters.rendering import LetterContent
from tests.factories import MemberFactory


class LetterRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LetterRequest

    member = factory.SubFactory(MemberFactory)
    purpose = "Neue PIN auf Wunsch"


class PrintBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrintBatch


# A made-up letter: no member, no PIN row; the PIN has the right shape but was never issued.
SAMPLE_CONTENT = LetterContent(
    reference="B-00000042",
    language="de",
    full_name="Erika Mustermann",
    address_lines=["Erika Mustermann", "Heidestraße 17", "51147 Köln"],
    purpose="Neue PIN auf Wunsch",
    valid_until=datetime.date(2027, 1, 28),
    letter_date=datetime.date(2026, 11, 29),
    pin_display="AB3D-EFGH-JKLM",
)
# An address of four lines, the most the window takes.
ADDRESS_FOUR_LINES = ["Erika Mustermann", "c/o Familie Beispiel", "Heidestraße 17", "51147 Köln"]


def letter_content(**changes) -> LetterContent:
    """The sample letter's content with `changes` (any LetterContent field)."""
    return dataclasses.replace(SAMPLE_CONTENT, **changes)
