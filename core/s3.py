"""The S3 side of the file storages: faults as OSError, multipart writer, ranged reader, listing, the bucket.

Used through core.storage, which chooses between S3 and local disk; storage_setup prepares the bucket here.
"""

import contextlib
import datetime
import errno
import logging
from collections.abc import Iterable, Iterator

from django.core.files.storage import Storage

from .streams import SizedReader

logger = logging.getLogger(__name__)

# Objects up to S3_PART_SIZE + S3_PUT_SLACK go up in one PUT (so an 8 MiB tus PATCH, a little larger once
# encrypted, is one request); larger ones as a multipart upload in parts of S3_PART_SIZE (S3 wants at least
# 5 MiB for every part but the last).
S3_PART_SIZE = 8 * 1024 * 1024
S3_PUT_SLACK = 1024 * 1024


class StorageUnavailable(OSError):
    """The object store did not answer or refused the request: worth another try later."""


def is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


@contextlib.contextmanager
def s3_errors() -> Iterator[None]:
    """Turn botocore's and urllib3's faults into OSError; the message names the S3 code only, never content."""
    from botocore.exceptions import BotoCoreError, ClientError
    from urllib3.exceptions import HTTPError

    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or code in ("NoSuchKey", "NotFound", "404"):
            raise FileNotFoundError(errno.ENOENT, "no such object") from error
        raise StorageUnavailable(errno.EIO, f"object store refused the request ({code or status})") from error
    except (BotoCoreError, HTTPError) as error:
        raise StorageUnavailable(errno.EIO, f"object store unreachable ({type(error).__name__})") from error


def s3_key(storage: Storage, name: str) -> str:
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def s3_client(storage: Storage):
    return storage.connection.meta.client


def s3_write_parameters(storage: Storage, name: str, *, content_type: str) -> dict:
    """Object parameters for a write: the storage's own (server-side encryption, from settings), type and ACL."""
    params = {**storage.get_object_parameters(name), "ContentType": content_type}
    if getattr(storage, "default_acl", None):
        params.setdefault("ACL", storage.default_acl)
    return params


def s3_write(storage: Storage, name: str, chunks: Iterable[bytes], *, content_type: str) -> None:
    client, bucket, key = s3_client(storage), storage.bucket_name, s3_key(storage, name)
    params = s3_write_parameters(storage, name, content_type=content_type)
    pending = bytearray()
    upload_id = None
    parts: list[dict] = []

    def send_part() -> None:
        nonlocal upload_id
        if upload_id is None:
            upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **params)["UploadId"]
        number = len(parts) + 1
        # All that is pending goes as one part (8-9 MiB; parts may differ in size), sent without a copy.
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=pending)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        del pending[:]

    try:
        for chunk in chunks:
            pending += chunk
            if len(pending) >= S3_PART_SIZE + (0 if upload_id else S3_PUT_SLACK):
                send_part()
        if upload_id is None:
            client.put_object(Bucket=bucket, Key=key, Body=pending, **params)
            return
        if pending:
            send_part()
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except BaseException:
        if upload_id is not None:
            with contextlib.suppress(Exception):
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


class S3Reader(SizedReader):
    """An S3 object as a seekable raw stream: one GET read on as long as reads follow, a ranged GET after a seek."""

    def __init__(self, storage: Storage, name: str):
        super().__init__()
        self._client, self._bucket, self._key = s3_client(storage), storage.bucket_name, s3_key(storage, name)
        with s3_errors():
            response = self._client.get_object(Bucket=self._bucket, Key=self._key)
        self._body = response["Body"]
        self._size = response["ContentLength"]
        self._pos = 0

    def _moved(self, old: int, new: int) -> None:
        self._drop_body()

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        with s3_errors():
            if self._body is None:
                response = self._client.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-")
                self._body = response["Body"]
            data = self._body.read(min(len(buffer), self._size - self._pos))
        if not data:
            self._drop_body()
            raise StorageUnavailable(errno.EIO, "the object store ended the object early")
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop_body(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


def s3_delete(storage: Storage, name: str) -> None:
    """Delete an object; S3 answers a missing one as deleted."""
    with s3_errors():
        s3_client(storage).delete_object(Bucket=storage.bucket_name, Key=s3_key(storage, name))


def s3_list(storage: Storage, prefix: str) -> Iterator[tuple[str, datetime.datetime]]:
    """Every object under `prefix` (a folder name ending in "/", or "") with its modification time."""
    location = storage.location.strip("/") + "/" if storage.location.strip("/") else ""
    paginator = s3_client(storage).get_paginator("list_objects_v2")
    with s3_errors():
        for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=location + prefix):
            for entry in page.get("Contents", ()):
                yield entry["Key"][len(location) :], entry["LastModified"]


# Error codes with which S3-compatible stores answer a feature they do not have. MinIO answers PutPublicAccessBlock
# with NotImplemented (501), and a write or PutBucketEncryption that asks for SSE-S3 without a key-management
# service likewise; others say NotSupported, XNotImplemented or MethodNotAllowed (405).
UNSUPPORTED_CODES = frozenset(
    {"NotImplemented", "XNotImplemented", "NotSupported", "MethodNotAllowed", "KMSNotConfigured"}
)
SSE_NAMES = {"AES256": "SSE-S3", "aws:kms": "SSE-KMS"}


def unsupported_code(error: Exception) -> str | None:
    """The S3 error code when `error` says the store lacks the feature asked for, else None."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return None
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in UNSUPPORTED_CODES or status in (405, 501):
        return code or str(status)
    return None


class BucketPreparation:
    """What storage_setup did to the bucket (steps) and what the store could not do (warnings)."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.warnings: list[str] = []

    def optional(self, step: str, apply, *, instead: str) -> bool:
        """Apply a hardening step; a store that does not implement it gets a warning (what that means) instead."""
        from botocore.exceptions import ClientError

        try:
            apply()
        except ClientError as error:
            code = unsupported_code(error)
            if code is None:
                raise
            self.warnings.append(f"{step}: not supported by this S3 service ({code}); {instead}")
            logger.warning("storage setup: %s is not supported by the S3 service (%s)", step, code)
            return False
        self.steps.append(step)
        return True


def s3_prepare_bucket(storage: Storage) -> BucketPreparation:
    """Create the bucket if missing; block public access; default encryption; lifecycle rules.

    Lifecycle: incomplete multipart uploads (a write that died) are aborted after a day. The portal's own
    segments are purged by beat (it knows which ones a row still lists), not by age. Public access block, default encryption and lifecycle are
    hardening that not every S3-compatible store implements: a store that answers "not implemented" gets a
    warning and the set-up goes on; any other refusal (access denied, a wrong key id) stops it.
    """
    client, bucket = s3_client(storage), storage.bucket_name
    parameters = storage.get_object_parameters("")
    done = BucketPreparation()
    with s3_errors():
        try:
            with s3_errors():
                client.head_bucket(Bucket=bucket)
            done.steps.append(f"bucket {bucket} exists")
        except FileNotFoundError:
            region = client.meta.region_name
            extra = (
                {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            client.create_bucket(Bucket=bucket, **extra)
            done.steps.append(f"bucket {bucket} created")
        done.optional(
            "public access blocked",
            lambda: client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            ),
            instead="every object is still written private, encrypted by the portal; give the bucket no public policy",
        )
        algorithm = parameters.get("ServerSideEncryption")
        if not algorithm:
            done.steps.append("server-side encryption: none (S3_SSE=none; the portal encrypts every object itself)")
        else:
            default = {"SSEAlgorithm": algorithm}
            if parameters.get("SSEKMSKeyId"):
                default["KMSMasterKeyID"] = parameters["SSEKMSKeyId"]
            name = SSE_NAMES.get(algorithm, algorithm)
            done.optional(
                f"default encryption {name}",
                lambda: client.put_bucket_encryption(
                    Bucket=bucket,
                    ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
                ),
                instead=f"objects still ask for {name} when written; if the store refuses that too, set S3_SSE=none",
            )
        done.optional(
            "lifecycle: multipart uploads aborted after 1 day",
            lambda: client.put_bucket_lifecycle_configuration(
                Bucket=bucket,
                LifecycleConfiguration={
                    "Rules": [
                        {
                            "ID": "abort-incomplete-multipart-uploads",
                            "Status": "Enabled",
                            "Filter": {"Prefix": ""},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        },
                    ]
                },
            ),
            instead="parts of interrupted writes stay in the bucket until removed by the store's own means",
        )
    return done
