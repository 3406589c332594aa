"""Two portal nodes behind nginx (round robin, no stickiness), separate local folders, one PostgreSQL, Redis, S3."""

import base64
import hashlib
import re
import time
import urllib.parse
import uuid

import pytest
from django.urls import reverse

from staff.constants import Role
from tests.cluster.test_static import assert_page_assets_come_from_the_manifest
from tests.factories import MemberFactory
from tests.s3.conftest import all_objects
from tests.s3.test_s3_flows import assert_no_plaintext
from tests.staff.conftest import staff_client  # noqa: F401
from tests.uploads.factories import pdf_bytes
from uploads.models import SubmissionReason, Upload

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
VERSION_INPUT = re.compile(r'name="version" value="(\d+)"')
CHUNK = 256 * 1024

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.slow(35)
def test_member_flow_across_two_nodes_ends_byte_identical(
    cluster,
    collected_static,
    issue_pin,
    staff_client,  # noqa: F811
    moto_endpoint,
    bucket,
):
    member = MemberFactory()
    pin = issue_pin(member)
    base = cluster.base
    web = cluster.session()

    page = web.get(f"{base}/anmelden/", timeout=30)
    token = CSRF_INPUT.search(page.text).group(1)
    login = web.post(
        f"{base}/anmelden/",
        data={"csrfmiddlewaretoken": token, "kvnr": member.kvnr, "pin": pin.plaintext},
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 302, login.text[:500]

    draft_page = web.get(f"{base}/antrag/", timeout=30)
    # With DEBUG off, the page names the hashed files of production's static step, which nginx serves.
    assert_page_assets_come_from_the_manifest(web, base, draft_page.text, collected_static)
    csrf, version = CSRF_META.search(draft_page.text).group(1), VERSION_INPUT.search(draft_page.text).group(1)
    reason = SubmissionReason.objects.get(code="form")
    message = f"Nachricht {uuid.uuid4().hex}"
    saved = web.post(
        f"{base}/antrag/speichern/",
        data={"version": version, "reason": reason.pk, "message": message},
        headers={"X-CSRFToken": csrf, "Accept": "application/json"},
        timeout=30,
    )
    assert saved.status_code == 200, saved.text[:500]

    data = pdf_bytes(padding=6 * CHUNK)
    tus = {"X-CSRFToken": csrf, "Tus-Resumable": "1.0.0"}
    name = base64.b64encode(b"Bescheinigung.pdf").decode()
    created = web.post(
        f"{base}/antrag/uploads/",
        headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text[:500]
    location = created.headers["Location"]
    # nginx passes the host without its port (production listens on 443): the test's port comes from the base.
    url = f"{base}{urllib.parse.urlsplit(location).path}"
    offset = 0
    while offset < len(data):
        response = web.patch(
            url,
            data=data[offset : offset + CHUNK],
            headers={**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            timeout=60,
        )
        assert response.status_code == 204, (response.status_code, response.text[:500])
        offset = int(response.headers["Upload-Offset"])
    assert response.headers.get("Upload-Complete") == "1"
    # The chunks really alternated: both nodes received PATCHes, neither all of them.
    patches = [cluster.access_log(index).count('"PATCH ') for index in (1, 2)]
    assert min(patches) >= 2, patches

    # The worker (or, without a broker, the node itself) scans and disarms the file before it can go.
    deadline = time.monotonic() + 90
    while not Upload.objects.get().is_deliverable:
        assert time.monotonic() < deadline, Upload.objects.get().scan_status
        time.sleep(0.5)

    web.get(f"{base}/antrag/pruefen/", timeout=30)
    transmitted = web.post(
        f"{base}/antrag/uebermitteln/",
        data={"csrfmiddlewaretoken": csrf, "confirm": "on"},
        allow_redirects=False,
        timeout=30,
    )
    assert transmitted.status_code == 302 and "bestaetigung" in transmitted.headers["Location"]

    submission = member.submissions.get()
    assert submission.message == message
    document = submission.documents.get()
    assert document.sent_sha256 == hashlib.sha256(data).hexdigest()
    worker = staff_client(Role.CASE_WORKER)
    download = worker.get(reverse("staff:document", args=[submission.reference, document.public_id]))
    assert download.status_code == 200
    kept = b"".join(download.streaming_content)  # the disarmed copy the worker stored
    assert kept.startswith(b"%PDF") and hashlib.sha256(kept).hexdigest() == document.sha256

    # Nothing readable in the bucket, nor in either node's own folders.
    assert_no_plaintext(all_objects(moto_endpoint, bucket), data)
    for path in cluster.tmp.rglob("*"):
        if path.is_file() and path.name.startswith(("node1", "node2")) is False and path.stat().st_size:
            content = path.read_bytes()
            assert b"%PDF" not in content and data[5000:5064] not in content, path
