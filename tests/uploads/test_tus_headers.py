"""Strict tus header parsing: ASCII digits only for lengths and offsets, no control characters in metadata."""

import base64

import pytest
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uploads.models import Upload

pytestmark = pytest.mark.django_db

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


def create(client, length: str, meta: str = ""):
    return client.post(reverse("uploads:tus"), HTTP_UPLOAD_LENGTH=length, HTTP_UPLOAD_METADATA=meta, **TUS)


@pytest.mark.parametrize(
    "length", ["²", "1²", "\u0661\u0662", "\uff11\uff10", "+10", "-1", " 10", "1e3", "0x10", "9" * 30]
)
def test_upload_length_other_than_ascii_digits_is_400(member_client, length):
    response = create(member_client, length)
    assert response.status_code == 400
    assert response.json()["message"]
    assert not Upload.objects.exists()


def test_upload_offset_with_superscript_digit_is_400_and_offset_stays(member_client):
    url = create(member_client, "100")["Location"]
    response = member_client.generic(
        "PATCH", url, b"%PDF", content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="²", **TUS
    )
    assert response.status_code == 400
    assert Upload.objects.get().offset == 0


@pytest.mark.parametrize(
    "meta",
    [
        "filename " + b64("a.pdf") + ",fingerprint " + b64("fp\0x"),
        "filename " + b64("a\0.pdf"),
        "filename " + b64("a\x1b[31m.pdf"),
        "filename " + b64("a\n.pdf"),
        "file\x00name " + b64("a.pdf"),
        "f\x7fn " + b64("a.pdf"),
        "filenäme " + b64("a.pdf"),
    ],
)
def test_control_characters_in_metadata_are_400_with_a_reason(member_client, meta):
    response = create(member_client, "100", meta)
    assert response.status_code == 400
    assert "Angaben zur Datei" in response.json()["message"]
    assert not Upload.objects.exists()


def test_ordinary_metadata_with_umlauts_and_emoji_is_accepted(member_client):
    response = create(member_client, "100", f"filename {b64('Ärztliche Bescheinigung 👍.pdf')},fingerprint {b64('x')}")
    assert response.status_code == 201
    assert Upload.objects.get().name == "Ärztliche Bescheinigung 👍.pdf"


# Header values as a WSGI server hands them over: latin-1 text of any byte.
latin1 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=40)
meta_value = st.one_of(
    st.binary(max_size=40).map(b64), st.text(max_size=20).map(b64), latin1, st.just(b64("fp\0")), st.just(b64("\x1b"))
)
meta_pair = st.tuples(st.one_of(st.sampled_from(["filename", "fingerprint"]), latin1), meta_value)
meta_header = st.one_of(latin1, st.lists(meta_pair, max_size=3).map(lambda ps: ",".join(f"{k} {v}" for k, v in ps)))
length_header = st.one_of(
    st.sampled_from(["²", "1²", "\u0661", "9" * 19, "0"]), latin1, st.integers(min_value=-5, max_value=2**70).map(str)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=length_header, meta=meta_header)
def test_no_header_value_gives_a_5xx_or_a_half_created_upload(member_client, length, meta):
    before = set(Upload.objects.values_list("pk", flat=True))
    response = create(member_client, length, meta)
    assert response.status_code < 500, (length, meta)
    created = Upload.objects.exclude(pk__in=before)
    if response.status_code == 201:
        upload = created.get()
        assert str(upload.length) == length and upload.offset == 0
        assert "\0" not in upload.name + upload.fingerprint
        upload.delete()
    else:
        assert not created.exists()
        assert response.json()["message"]
    assert connection.is_usable()
