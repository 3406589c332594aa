"""Streaming writes and reads on the file storages, local or S3, in bounded memory, with S3 faults as OSError.

Django's storage API is used for names, listing and deleting; the bytes go around it: storages' S3 backend
spools a whole object in memory on open (AWS_S3_MAX_MEMORY_SIZE 0) and needs seekable, closable file objects
on save. Here a write is a stream of chunks (a single PUT, or a multipart upload for large objects, aborted on
any failure; on local disk a temporary file renamed into place), and a read is a seekable stream of ranged GETs.
Every object store fault surfaces as an OSError (FileNotFoundError for a missing object, StorageUnavailable
otherwise), so callers answer 503 "try again" and the letter worker retries it as a transient error.
"""

import contextlib
import datetime
import errno
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage

from .streams import SizedReader

# Stored files are encrypted (core.crypto); their type says so instead of application/octet-stream.
ENCRYPTED_CONTENT_TYPE = "application/vnd.einmal-pin.encrypted"
# Objects up to S3_PART_SIZE + S3_PUT_SLACK go up in one PUT (so an 8 MiB tus PATCH, a little larger once
# encrypted, is one request); larger ones as a multipart upload in parts of S3_PART_SIZE (S3 wants at least
# 5 MiB for every part but the last).
S3_PART_SIZE = 8 * 1024 * 1024
S3_PUT_SLACK = 1024 * 1024
READ_BUFFER = 256 * 1024


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


def _s3_key(storage: Storage, name: str) -> str:
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def _s3_client(storage: Storage):
    return storage.connection.meta.client


def s3_write_parameters(storage: Storage, name: str, *, content_type: str) -> dict:
    """Object parameters for a write: the storage's own (server-side encryption, from settings), type and ACL."""
    params = {**storage.get_object_parameters(name), "ContentType": content_type}
    if getattr(storage, "default_acl", None):
        params.setdefault("ACL", storage.default_acl)
    return params


def write_stream(
    storage: Storage, name: str, chunks: Iterable[bytes], *, content_type: str = ENCRYPTED_CONTENT_TYPE
) -> str:
    """Write the chunks under `name`, replacing what was there; nothing is left under the name on failure."""
    if is_s3(storage):
        with s3_errors():
            _s3_write(storage, name, chunks, content_type=content_type)
        return name
    if isinstance(storage, FileSystemStorage):
        _local_write(storage, name, chunks)
        return name
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, File(ChunkReader(iter(chunks)), name=name))


def _s3_write(storage: Storage, name: str, chunks: Iterable[bytes], *, content_type: str) -> None:
    client, bucket, key = _s3_client(storage), storage.bucket_name, _s3_key(storage, name)
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


def _local_write(storage: FileSystemStorage, name: str, chunks: Iterable[bytes]) -> None:
    path = storage.path(name)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        if storage.file_permissions_mode is not None:
            os.chmod(temporary, storage.file_permissions_mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class ChunkReader:
    """A read()-able file over an iterator of byte chunks, for storages that only take file objects."""

    closed = False

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = bytearray()

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


class _S3Reader(SizedReader):
    """An S3 object as a seekable raw stream: one GET read on as long as reads follow, a ranged GET after a seek."""

    def __init__(self, storage: Storage, name: str):
        super().__init__()
        self._client, self._bucket, self._key = _s3_client(storage), storage.bucket_name, _s3_key(storage, name)
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


def open_read(storage: Storage, name: str) -> IO[bytes]:
    """A seekable binary stream of a stored file, read in bounded memory; FileNotFoundError if it is missing."""
    if is_s3(storage):
        return io.BufferedReader(_S3Reader(storage, name), buffer_size=READ_BUFFER)
    return storage.open(name, "rb")


def delete(storage: Storage, name: str) -> None:
    """Delete a stored file; a missing one is no error."""
    with s3_errors():
        if is_s3(storage):
            _s3_client(storage).delete_object(Bucket=storage.bucket_name, Key=_s3_key(storage, name))
        else:
            with contextlib.suppress(FileNotFoundError):
                storage.delete(name)


def exists(storage: Storage, name: str) -> bool:
    with s3_errors():
        return storage.exists(name)


def list_files(storage: Storage, prefix: str) -> Iterator[tuple[str, datetime.datetime]]:
    """Every stored file whose name starts with the folder `prefix` (recursively), with its modification time (UTC)."""
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    if is_s3(storage):
        location = storage.location.strip("/") + "/" if storage.location.strip("/") else ""
        key_prefix = location + prefix
        paginator = _s3_client(storage).get_paginator("list_objects_v2")
        with s3_errors():
            for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=key_prefix):
                for entry in page.get("Contents", ()):
                    yield entry["Key"][len(location) :], entry["LastModified"]
        return
    root = storage.path(prefix) if prefix else storage.location
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for filename in sorted(names):
            path = os.path.join(directory, filename)
            try:
                modified = os.stat(path).st_mtime
            except FileNotFoundError:
                continue
            relative = os.path.relpath(path, storage.path("")).replace(os.sep, "/")
            yield relative, datetime.datetime.fromtimestamp(modified, tz=datetime.UTC)


def verify_access(storage: Storage) -> None:
    """Write, read back and delete a small probe object; raises OSError when the storage cannot be used."""
    name = f"probe/{os.urandom(8).hex()}"
    write_stream(storage, name, [b"probe"], content_type="text/plain")
    try:
        with open_read(storage, name) as probe:
            if probe.read() != b"probe":
                raise StorageUnavailable(errno.EIO, "the probe object read back differently")
    finally:
        delete(storage, name)


def s3_prepare_bucket(storage: Storage, *, staging_prefix: str, staging_days: int) -> list[str]:
    """Create the bucket if missing; block public access; default encryption; lifecycle rules. Returns the steps.

    Lifecycle: incomplete multipart uploads (a write that died) are aborted after a day; objects under the old
    plain staging prefix expire after `staging_days`. The portal's own segments are purged by beat (it knows
    which ones a row still lists), not by age.
    """
    client, bucket = _s3_client(storage), storage.bucket_name
    parameters = storage.get_object_parameters("")
    steps = []
    with s3_errors():
        try:
            with s3_errors():
                client.head_bucket(Bucket=bucket)
            steps.append(f"bucket {bucket} exists")
        except FileNotFoundError:
            region = client.meta.region_name
            extra = (
                {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            client.create_bucket(Bucket=bucket, **extra)
            steps.append(f"bucket {bucket} created")
        client.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        steps.append("public access blocked")
        default = {"SSEAlgorithm": parameters.get("ServerSideEncryption", "AES256")}
        if parameters.get("SSEKMSKeyId"):
            default["KMSMasterKeyID"] = parameters["SSEKMSKeyId"]
        client.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
        )
        steps.append(f"default encryption {default['SSEAlgorithm']}")
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "abort-incomplete-multipart-uploads",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    },
                    {
                        "ID": "expire-abandoned-staging",
                        "Status": "Enabled",
                        "Filter": {"Prefix": staging_prefix},
                        "Expiration": {"Days": staging_days},
                    },
                ]
            },
        )
        steps.append(
            f"lifecycle: multipart uploads aborted after 1 day, {staging_prefix} expires after {staging_days} days"
        )
    return steps
