"""App configuration for letters."""

from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"
