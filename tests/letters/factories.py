"""Factories for the letters app's models."""

import factory

from letters.models import LetterRequest, PrintBatch
from tests.factories import MemberFactory


class LetterRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LetterRequest

    member = factory.SubFactory(MemberFactory)
    purpose = "Neue PIN auf Wunsch"


class PrintBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrintBatch
