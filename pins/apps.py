"""App configuration for pins."""

from django.apps import AppConfig


class PinsConfig(AppConfig):
    name = "pins"
