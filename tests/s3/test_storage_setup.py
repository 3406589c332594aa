"""The storage_setup command and the deploy check against moto's S3 server, and the several-nodes rule."""

import uuid

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError

from .conftest import free_port, s3_client, s3_storages


def test_storage_setup_creates_the_bucket_with_lifecycle_encryption_and_verifies_access(moto_endpoint, settings):
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    settings.STORAGES = {**settings.STORAGES, **s3_storages(endpoint=moto_endpoint, bucket=bucket)}
    assert any(error.id == "core.E001" for error in run_checks(include_deployment_checks=True))

    call_command("storage_setup")

    client = s3_client(moto_endpoint)
    rules = {rule["ID"]: rule for rule in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["expire-abandoned-staging"]["Filter"] == {"Prefix": "staging/"}
    encryption = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # the probes are gone
    assert not [error for error in run_checks(include_deployment_checks=True) if error.id.startswith("core.")]
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
