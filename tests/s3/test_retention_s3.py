"""Forgetting on schedule against S3 (moto): the bucket holds none of the submission's objects afterwards."""

import datetime

import pytest
from django.utils import timezone

from tests.staff.factories import transmitted_submission
from tests.uploads.factories import pdf_bytes
from uploads import services

from .conftest import all_objects

pytestmark = pytest.mark.django_db


def test_a_forgotten_submission_leaves_no_object_in_the_bucket(bucket, moto_endpoint, member):
    submission = transmitted_submission(member, files={"Attest.pdf": pdf_bytes(), "Rezept.pdf": pdf_bytes(pages=2)})
    ids = [str(document.public_id) for document in submission.documents.all()]

    def objects() -> list[str]:
        return [key for key in all_objects(moto_endpoint, bucket) if any(i in key for i in ids)]

    assert len(objects()) >= 2
    assert services.submissions_forget_due(now=timezone.now() + datetime.timedelta(days=364)) == 0
    assert len(objects()) >= 2
    assert services.submissions_forget_due(now=timezone.now() + datetime.timedelta(days=366)) == 1
    assert objects() == []
