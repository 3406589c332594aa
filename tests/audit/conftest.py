"""The audit admin tests log in as staff: reuse staff's fixtures."""

from tests.staff.conftest import staff_client, staff_factory

__all__ = ["staff_client", "staff_factory"]
