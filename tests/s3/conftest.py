"""Fixtures for the S3 tests: moto's S3 server on a free loopback port, and the portal's storages pointed at it."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.letters.conftest import request_letter, staff_user, verified_client  # noqa: F401
from tests.staff.conftest import staff_client  # noqa: F401
from tests.uploads.conftest import member_client  # noqa: F401

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-central-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    """moto's S3 server as its own process (so a test can stop it like an outage); waits until it answers."""
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **CREDENTIALS},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start")


@pytest.fixture(scope="session")
def moto_endpoint():
    port = free_port()
    process = start_moto(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def s3_storages(*, endpoint: str, bucket: str) -> dict:
    """The STORAGES entries portal/settings.py builds for STORAGE_BACKEND=s3."""
    options = {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
        "access_key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "secret_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": True,
        "object_parameters": {"ServerSideEncryption": "AES256"},
        "client_config": Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            request_checksum_calculation="when_required",
        ),
    }
    return {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**options, "location": "files"}},
    }


@pytest.fixture
def bucket(moto_endpoint, settings):
    """A new bucket for this test, and the portal's storages on it."""
    name = f"portal-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]}
    )
    settings.STORAGES = {**settings.STORAGES, **s3_storages(endpoint=moto_endpoint, bucket=name)}
    return name


def all_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    client = s3_client(endpoint)
    keys = [
        entry["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for entry in page.get("Contents", ())
    ]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
