"""The permissions of each staff role, and keeping every role's group in line with them.

Called by staff's data migration and again after every `migrate` (post_migrate), so that the administrator also
gets the permissions of apps migrated later and a flushed database gets its roles back.
"""

from campaigns.constants import CAMPAIGN_PERMISSIONS, CAMPAIGN_ROLE

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "call_centre": [
        "members.view_member",
        "members.change_member",
        "pins.view_letterpin",
        "letters.view_letterrequest",
        "letters.add_letterrequest",
        "letters.cancel_letterrequest",
    ],
    "print_shop": ["letters.collect_letters"],
    "case_worker": [
        "uploads.view_submission",
        "uploads.change_submission",
        "uploads.view_submissiondocument",
        "uploads.download_submissiondocument",
    ],
    # "View only": reads every document in the browser's viewer (view_submissiondocument), never downloads or
    # exports one (download_submissiondocument), so no member's file reaches a staff PC's disk.
    "case_reader": [
        "uploads.view_submission",
        "uploads.change_submission",
        "uploads.view_submissiondocument",
    ],
    CAMPAIGN_ROLE: CAMPAIGN_PERMISSIONS,
}
ADMINISTRATOR = "administrator"
# The audit log is append-only for everyone, administrators included.
AUDIT_WRITES = ("add_auditevent", "change_auditevent", "delete_auditevent")


def roles_sync(*, group_model, permission_model, using: str = "default") -> None:
    """Create the role groups and set their permissions; the administrator gets all but audit writes.

    A permission of an app not migrated yet (campaigns, when staff's own migration runs first) is added by the
    sync after `migrate` (post_migrate); tests/staff/test_role_groups.py checks every group's final set.
    """
    permissions = permission_model.objects.db_manager(using)
    groups = group_model.objects.db_manager(using)
    for role, names in ROLE_PERMISSIONS.items():
        wanted = [
            permission
            for permission in permissions.filter(codename__in=[name.split(".")[1] for name in names]).select_related(
                "content_type"
            )
            if f"{permission.content_type.app_label}.{permission.codename}" in names
        ]
        group, _created = groups.get_or_create(name=role)
        group.permissions.set(wanted)
    administrator, _created = groups.get_or_create(name=ADMINISTRATOR)
    administrator.permissions.set(permissions.exclude(content_type__app_label="audit", codename__in=AUDIT_WRITES))
