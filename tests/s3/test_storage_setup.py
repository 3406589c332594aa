"""The storage_setup command and the deploy check against moto's S3 server (and moto behind a proxy that answers
as MinIO does), the S3_SSE setting, and the several-nodes rule."""

import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.checks import WARNING, run_checks
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError

from .conftest import free_port, s3_client, s3_storages
from .minio_like import MinioLike

ROOT = Path(__file__).resolve().parents[2]


def test_storage_setup_creates_the_bucket_with_lifecycle_encryption_and_verifies_access(moto_endpoint, settings):
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {**settings.STORAGES, **s3_storages(endpoint=moto_endpoint, bucket=bucket)}
    assert any(error.id == "core.E001" for error in run_checks(include_deployment_checks=True))

    call_command("storage_setup")

    client = s3_client(moto_endpoint)
    rules = {rule["ID"]: rule for rule in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert set(rules) == {"abort-incomplete-multipart-uploads"}
    encryption = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # the probes are gone
    problems = run_checks(include_deployment_checks=True)
    assert not [error for error in problems if error.id.startswith("core.") and error.level >= WARNING]
    call_command("storage_setup")  # a second run changes nothing and succeeds
    call_command("storage_setup", "--check")


def test_storage_setup_check_fails_clearly_when_s3_is_away(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        **s3_storages(endpoint=f"http://127.0.0.1:{free_port()}", bucket="portal-away"),
    }
    with pytest.raises(CommandError, match="no access"):
        call_command("storage_setup", "--check")


def test_local_storage_on_several_nodes_fails_the_deploy_check_unless_shared(settings):
    settings.WEB_NODES = 2
    assert any(error.id == "core.E002" for error in run_checks(include_deployment_checks=True))
    settings.STORAGE_LOCAL_SHARED = True
    assert not any(error.id == "core.E002" for error in run_checks(include_deployment_checks=True))


@pytest.fixture
def minio_like(moto_endpoint):
    store = MinioLike(moto_endpoint)
    yield store
    store.close()


def storages_on(endpoint: str, bucket: str, *, sse: dict) -> dict:
    entries = s3_storages(endpoint=endpoint, bucket=bucket)
    for entry in entries.values():
        entry["OPTIONS"]["object_parameters"] = sse
    return entries


def test_storage_setup_goes_on_against_a_store_without_public_access_block_or_sse(
    minio_like, moto_endpoint, settings, caplog
):
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {**settings.STORAGES, **storages_on(minio_like.endpoint, bucket, sse={})}  # S3_SSE=none
    out, err = io.StringIO(), io.StringIO()

    call_command("storage_setup", stdout=out, stderr=err)

    assert "public access blocked: not supported by this S3 service (NotImplemented)" in err.getvalue()
    assert "server-side encryption: none" in out.getvalue()
    assert "storage 'default': write, read and delete work" in out.getvalue()
    assert any("not supported" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
    client = s3_client(moto_endpoint)
    rules = {rule["ID"] for rule in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules == {"abort-incomplete-multipart-uploads"}
    assert ("PUT", f"/{bucket}?publicAccessBlock") in minio_like.requests  # it was asked, and refused
    call_command("storage_setup", stdout=io.StringIO(), stderr=io.StringIO())  # and again on the next deployment


def test_sse_s3_on_a_store_without_a_kms_warns_then_fails_the_probe_saying_what_to_set(minio_like, settings):
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    sse = {"ServerSideEncryption": "AES256"}
    settings.STORAGES = {**settings.STORAGES, **storages_on(minio_like.endpoint, bucket, sse=sse)}
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"refuses SSE-S3: set S3_SSE=none"):
        call_command("storage_setup", stdout=io.StringIO(), stderr=err)
    assert "default encryption SSE-S3: not supported by this S3 service (NotImplemented)" in err.getvalue()


def test_a_refusal_that_is_not_a_missing_feature_still_stops_the_setup(moto_endpoint, settings):
    store = MinioLike(moto_endpoint, refused={"publicAccessBlock": (403, "AccessDenied", "Access Denied.")})
    try:
        bucket = f"portal-{uuid.uuid4().hex[:12]}"
        settings.STORAGES = {**settings.STORAGES, **storages_on(store.endpoint, bucket, sse={})}
        with pytest.raises(CommandError, match=r"preparing the bucket failed.*AccessDenied"):
            call_command("storage_setup", stdout=io.StringIO(), stderr=io.StringIO())
    finally:
        store.close()


def test_sse_kms_sets_the_buckets_default_key_and_every_object_asks_for_it(moto_endpoint, settings):
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    key = "arn:aws:kms:eu-central-1:123456789012:key/0b6a2c1e-portal-test"
    sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
    settings.STORAGES = {**settings.STORAGES, **storages_on(moto_endpoint, bucket, sse=sse)}
    out = io.StringIO()
    call_command("storage_setup", stdout=out, stderr=io.StringIO())
    assert "default encryption SSE-KMS" in out.getvalue()
    client = s3_client(moto_endpoint)
    rule = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    from core import storage as stored_files

    stored_files.write_stream(storages["default"], "kms-probe", [b"x"], content_type="text/plain")
    head = client.head_object(Bucket=bucket, Key="files/kms-probe")
    assert head["ServerSideEncryption"] == "aws:kms"


CASES = [
    {"S3_SSE": "none"},
    {"S3_SSE": "SSE-S3"},
    {"S3_SSE": "AES256"},
    {"S3_SSE": "SSE-KMS"},
    {"S3_SSE": "sse-kms", "S3_SSE_KMS_KEY_ID": "alias/portal"},
    {},
    {"S3_SSE": "AES128"},
    {"S3_SSE": "SSE-S3", "S3_SSE_KMS_KEY_ID": "alias/portal"},
]


def test_s3_sse_names_none_sse_s3_or_sse_kms_and_refuses_anything_else():
    assert sse_parameters(CASES) == [
        {},
        {"ServerSideEncryption": "AES256"},
        {"ServerSideEncryption": "AES256"},
        {"ServerSideEncryption": "aws:kms"},
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/portal"},
        {"ServerSideEncryption": "AES256"},  # the default
        "S3_SSE='aes128' is not known: use SSE-S3, SSE-KMS or none.",
        "S3_SSE_KMS_KEY_ID is set: it needs S3_SSE=SSE-KMS.",
    ]


# portal/settings.py run once per environment in one fresh interpreter: the object parameters or the refusal.
_SETTINGS_RUNS = """
import json, os, runpy, sys
from django.core.exceptions import ImproperlyConfigured
base = {k: v for k, v in os.environ.items() if not k.startswith("S3_")}
results = []
for case in json.loads(sys.argv[1]):
    os.environ.clear()
    os.environ.update(base, STORAGE_BACKEND="s3", S3_BUCKET="portal", **case)
    try:
        module = runpy.run_path("portal/settings.py")
        results.append(module["STORAGES"]["default"]["OPTIONS"]["object_parameters"])
    except ImproperlyConfigured as error:
        results.append(str(error))
print(json.dumps(results))
"""


def sse_parameters(cases: list[dict]) -> list:
    result = subprocess.run(
        [sys.executable, "-c", _SETTINGS_RUNS, json.dumps(cases)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])
