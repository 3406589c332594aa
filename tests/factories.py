"""factory-boy factories for the models every app's tests need: users, members, PINs."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from members.kvnr import kvnr_check_digit
from members.models import Member


def make_kvnr(n: int, letter: str = "T") -> str:
    head = f"{letter}{n % 10**8:08d}"
    return head + str(kvnr_check_digit(head))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"member-{n}"))
    kvnr = factory.Sequence(lambda n: make_kvnr(10_000 + n))
    first_name = "Erika"
    last_name = factory.Sequence(lambda n: f"Mustermann{n}")
    street = "Heidestraße 17"
    postcode = "51147"
    town = "Köln"
    egk_valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))
    language = "de"
