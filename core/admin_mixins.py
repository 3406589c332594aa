"""Admin mixins shared by the apps' admin modules."""


class ReadOnlyAdminMixin:
    """An admin page that shows records but never adds, changes or deletes them (changes go through services)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
