"""The role "campaigns" (Kampagnen) as a group with its permissions; administrators get them through staff's sync."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from campaigns.constants import CAMPAIGN_PERMISSIONS, CAMPAIGN_ROLE


def create_role(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("campaigns")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.using(alias).get_or_create(name=CAMPAIGN_ROLE)
    wanted = []
    for name in CAMPAIGN_PERMISSIONS:
        app_label, codename = name.split(".")
        wanted.append(Permission.objects.using(alias).get(content_type__app_label=app_label, codename=codename))
    group.permissions.set(wanted)
    administrator = Group.objects.using(alias).filter(name="administrator").first()
    if administrator is not None:
        administrator.permissions.add(*wanted)


def delete_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CAMPAIGN_ROLE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role, delete_role)]
