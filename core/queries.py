"""Query helpers every app's selectors share: counts grouped in SQL."""

from django.db.models import Count, QuerySet


def count_by(*, queryset: QuerySet, field: str = "status") -> dict[str, int]:
    """{value of `field`: rows} in one GROUP BY query; values without rows are absent."""
    return {row[field]: row["n"] for row in queryset.values(field).annotate(n=Count("pk")).order_by()}
