"""App configuration for ops."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
