"""The four staff roles as groups with their permissions (staff.roles).

Permissions are normally created after `migrate` (post_migrate), so they are created here first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from staff.roles import ADMINISTRATOR, ROLE_PERMISSIONS, roles_sync


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        using=schema_editor.connection.alias,
    )


def delete_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[*ROLE_PERMISSIONS, ADMINISTRATOR]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("members", "0001_initial"),
        ("pins", "0001_initial"),
        ("audit", "0002_append_only_trigger"),
        ("otp_totp", "0003_add_timestamps"),
        ("letters", "0001_initial"),
        ("uploads", "0002_seed_reasons"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
