"""Fixtures the backup drill borrows: rendered letters, and moto's S3 server with a bucket per test."""

from tests.letters.conftest import request_letter  # noqa: F401
from tests.s3.conftest import bucket, moto_endpoint  # noqa: F401
