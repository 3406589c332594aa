"""System checks of core (with --deploy): the file storage works, and local storage is shared by all web nodes."""

from django.conf import settings
from django.core.checks import Error, Info, Tags, register


@register(Tags.files, deploy=True)
def storage_access(app_configs, **kwargs):
    from core import storage as stored_files

    problems = []
    try:
        stored_files.verify_access(stored_files.private_storage())
    except OSError as error:
        problems.append(
            Error(
                f"Storage 'default' cannot be written, read and deleted: {error}",
                hint="Run `manage.py storage_setup` (creates the bucket) and check S3_* settings and credentials.",
                id="core.E001",
            )
        )
    if settings.STORAGE_BACKEND == "local" and settings.WEB_NODES > 1 and not settings.STORAGE_LOCAL_SHARED:
        problems.append(
            Error(
                "Local file storage on several web nodes: each node would keep its own files, and an upload whose "
                "requests reach different nodes fails (422).",
                hint="Use STORAGE_BACKEND=s3, or mount one shared volume at PRIVATE_MEDIA_ROOT on every node and "
                "set STORAGE_LOCAL_SHARED=true.",
                id="core.E002",
            )
        )
    return problems


@register(Tags.files, deploy=True)
def key_census(app_configs, **kwargs):
    """A key removed from FILE_ENCRYPTION_KEYS while stored files are still sealed under it: they cannot be read."""
    from django.db import DatabaseError, connection

    from core import rotation

    try:
        tables = set(connection.introspection.table_names())
        if not all(model._meta.db_table in tables for model in rotation.encrypted_file_models()):
            return []  # not migrated yet: no row owns a stored file
        census = rotation.census()
    except (DatabaseError, OSError, RuntimeError) as error:  # RuntimeError: a process without database access
        return [
            Info(
                f"The stored files could not be counted per key id ({type(error).__name__}).",
                hint="Run `python manage.py rotate_keys --census` once the database and the storage answer.",
                id="core.I003",
            )
        ]
    unknown = rotation.unknown_key_ids(census)
    if not unknown:
        return []
    return [
        Error(
            "Stored files are sealed under keys no longer in FILE_ENCRYPTION_KEYS: "
            + ", ".join(f"{key_id!r} ({n} objects)" for key_id, n in sorted(unknown.items())),
            hint="Put the keys back (after the current one), run `python manage.py rotate_keys`, and remove a key "
            "only when the command says it seals no stored object.",
            id="core.E003",
        )
    ]
