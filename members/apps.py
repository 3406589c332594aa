"""App configuration for members."""

from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
