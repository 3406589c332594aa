"""Key rotation on S3 (moto): the census reads only each object's header (a ranged GET), the rotation killed
half-way under a running upload resumes, and every plaintext is the same afterwards."""

import pytest

from core import rotation
from core.crypto import HEADER_MAX_SIZE
from core.storage import private_storage
from tests.core.rotation_scenario import KEY_A, run_drill
from tests.letters.conftest import request_letter  # noqa: F401

pytestmark = pytest.mark.django_db


def test_rotation_on_s3_killed_half_way_under_a_running_upload_resumes(
    bucket,
    settings,
    member,
    request_letter,  # noqa: F811
    monkeypatch,
):
    run_drill(settings=settings, member=member, request_letter=request_letter, monkeypatch=monkeypatch)


def test_the_census_reads_only_the_header_of_each_object(bucket, settings, member, request_letter, monkeypatch):  # noqa: F811
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    request_letter(member)
    client = rotation.s3_client(private_storage())
    ranges = []
    real_get = client.get_object

    def counted(**kwargs):
        ranges.append(kwargs.get("Range"))
        return real_get(**kwargs)

    monkeypatch.setattr(client, "get_object", counted)
    monkeypatch.setattr(rotation, "s3_client", lambda storage: client)
    assert rotation.census().objects == {"a": 1}
    assert ranges == [f"bytes=0-{HEADER_MAX_SIZE - 1}"]
