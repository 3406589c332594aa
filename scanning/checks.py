"""System check: `manage.py check --deploy` warns when no virus scanner is configured."""

from django.core import checks

from .clamd import scanner_configured


@checks.register(checks.Tags.security, deploy=True)
def scanner_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if scanner_configured():
        return []
    return [
        checks.Warning(
            "No virus scanner is configured: uploaded documents are disarmed but not scanned for malware.",
            hint="Set CLAMD_TCP=host:3310 or CLAMD_SOCKET=/run/clamav/clamd.ctl (ClamAV's clamd).",
            id="scanning.W001",
        )
    ]
