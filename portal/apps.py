"""App configuration for portal, installed so that its project-wide management commands are found."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
