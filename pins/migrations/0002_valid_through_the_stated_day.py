"""PINs work through the whole day their letter states: move expires_at of live PINs to that day's last instant."""

import datetime
import zoneinfo

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor):
    LetterPin = apps.get_model("pins", "LetterPin")
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    pins = LetterPin.objects.filter(status="active").only("pk", "expires_at")
    for pin in pins.iterator(chunk_size=1000):
        # The letter printed the date of expires_at in the portal's zone: that day is now valid in full.
        last_day = pin.expires_at.astimezone(zone).date()
        end = datetime.datetime.combine(last_day, datetime.time.max, tzinfo=zone)
        if end != pin.expires_at:
            LetterPin.objects.filter(pk=pin.pk).update(expires_at=end)


class Migration(migrations.Migration):
    dependencies = [("pins", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
