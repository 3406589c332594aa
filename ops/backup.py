"""Backup and restore: a consistent database dump plus the stored objects (or a manifest of them), never the keys.

A backup is one folder:

    manifest.json            what the backup holds: database engine, the applied migrations, every stored object
                             with its size and SHA-256 (copy mode) or its size and ETag (manifest mode)
    database.dump            PostgreSQL: pg_dump's custom format (one snapshot, so the dump is consistent)
    database.sqlite3         SQLite (the embedded mode): SQLite's online backup of the database file
    objects/<alias>/<name>   the stored objects of the private storage ("default"), byte for byte

Stored objects are encrypted by the portal before they reach storage (core.crypto); they are copied as they are,
so the backup stays encrypted and is readable only with FILE_ENCRYPTION_KEYS, which are never written here: a
backup folder inside a folder that holds the keys (an `.env` file, the project folder) or inside the storage
itself is refused.

The database is dumped first, then the objects are copied: every object a row of the dump names was stored
before the dump's snapshot, so it is in the copy unless a purge deleted it in between (then its row was on its
way out). Objects written after the snapshot are copied too and are orphans after a restore, which beat's
orphan purge removes.

Restore goes only into an empty database and empty storages (copy mode); in manifest mode the bucket (or folder)
was restored by its own means and must hold every object the manifest lists, with the same size (and ETag).
"""

import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from core import storage as stored_files
from core.crypto import DecryptionError, key_id_of
from core.s3 import is_s3, s3_client

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
OBJECTS = "objects"
STORAGE_ALIASES = ("default",)
COPY, MANIFEST_ONLY = "copy", "manifest"
CHUNK = 1024 * 1024
# Transient names that are not data: the storage probe of /readyz and storage_setup, local temporary files.
SKIPPED_PREFIXES = ("probe/",)
KEY_ID_HEADER = 260

KEYS_APART = (
    "The encryption keys are NOT in this backup, and must never be stored with it. Save FILE_ENCRYPTION_KEYS "
    "(and SECRET_KEY) apart, e.g. in the secret store or password manager of the operations team; without "
    "the keys listed here the documents and letters in this backup cannot be read."
)


class BackupError(Exception):
    """The backup or restore cannot be done as asked; the message says why and what to do."""


@dataclass
class BackupReport:
    out: Path
    engine: str
    mode: str
    objects: int = 0
    object_bytes: int = 0
    database_bytes: int = 0
    database_seconds: float = 0.0
    objects_seconds: float = 0.0
    key_ids: dict[str, int] = field(default_factory=dict)


@dataclass
class RestoreReport:
    engine: str
    mode: str
    objects: int = 0
    object_bytes: int = 0
    verify_seconds: float = 0.0
    database_seconds: float = 0.0
    objects_seconds: float = 0.0
    key_ids: dict[str, int] = field(default_factory=dict)
    pending_migrations: list[str] = field(default_factory=list)


def _engine(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"backup supports PostgreSQL and SQLite, not {vendor}")
    return vendor


def _local_root(storage: Storage) -> Path | None:
    location = getattr(storage, "location", None)
    return None if is_s3(storage) or not location else Path(location).resolve()


def key_folders() -> list[Path]:
    """The folders that hold the encryption keys on this machine: the project folder (its `.env`)."""
    return [Path(settings.BASE_DIR).resolve()]


def backup_check_destination(*, out: Path) -> None:
    """Refuse a destination next to the keys or inside the storage; it must be a new or empty folder."""
    out = out.resolve()
    for folder in key_folders():
        if out == folder or folder in out.parents:
            raise BackupError(
                f"{out} is inside {folder}, which holds the encryption keys (.env): a backup must be kept apart "
                "from the keys. Choose a folder elsewhere."
            )
    for folder in (out, *out.parents):
        if (folder / ".env").exists():
            raise BackupError(
                f"{folder} holds an .env file (where FILE_ENCRYPTION_KEYS are kept): a backup must be kept apart "
                "from the keys. Choose another folder."
            )
    for alias in STORAGE_ALIASES:
        root = _local_root(storages[alias])
        if root is not None and (out == root or root in out.parents or out in root.parents):
            raise BackupError(f"{out} overlaps the {alias!r} storage folder {root}; choose a folder outside it.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} exists and is not an empty folder; back up into a new folder.")


def _pg_command(program: str, alias: str = "default") -> tuple[list[str], dict[str, str]]:
    db = connections[alias].settings_dict
    args = [program, "--no-owner", "--no-privileges"]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # the environment, never the command line (ps shows that)
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")):
        if db.get("OPTIONS", {}).get(option):
            env[variable] = str(db["OPTIONS"][option])
    return args, env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as error:
        raise BackupError(f"{args[0]} is not installed; {what} needs PostgreSQL's client programs") from error
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({args[0]} exit {result.returncode}): {result.stderr.strip()[-2000:]}")


def _applied_migrations(alias: str = "default") -> list[str]:
    recorder = MigrationRecorder(connections[alias])
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


def _dump_database(out: Path, engine: str) -> Path:
    connection = connections["default"]
    if engine == "postgresql":
        target = out / PG_DUMP
        args, env = _pg_command("pg_dump")
        _run(
            [*args, "--format=custom", "--file", str(target), "--dbname", connection.settings_dict["NAME"]],
            env,
            "the database dump",
        )
        return target
    target = out / SQLITE_COPY
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
    finally:
        copy.close()
    return target


def _storage_names(storage: Storage) -> Iterator[str]:
    for name, _modified in stored_files.list_files(storage, ""):
        if name.startswith(SKIPPED_PREFIXES) or os.path.basename(name).startswith(".tmp-"):
            continue
        yield name


def _s3_listing(storage: Storage) -> Iterator[tuple[str, int, str]]:
    """(name, size, ETag) of every object under the storage's location."""
    location = storage.location.strip("/") + "/" if storage.location.strip("/") else ""
    paginator = s3_client(storage).get_paginator("list_objects_v2")
    with stored_files.s3_errors():
        for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=location):
            for entry in page.get("Contents", ()):
                name = entry["Key"][len(location) :]
                if not name.startswith(SKIPPED_PREFIXES):
                    yield name, entry["Size"], entry["ETag"].strip('"')


def _key_id(head: bytes) -> str:
    try:
        return key_id_of(io.BytesIO(head))
    except DecryptionError:
        return "(not encrypted by the portal)"


def _copy_object(storage: Storage, name: str, target: Path) -> tuple[int, str, str]:
    """Copy one stored object to `target`; returns its size, SHA-256 and the id of the key that sealed it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    with stored_files.open_read(storage, name) as source, open(target, "wb") as copy:
        while chunk := source.read(CHUNK):
            if len(head) < KEY_ID_HEADER:
                head += chunk[: KEY_ID_HEADER - len(head)]
            digest.update(chunk)
            copy.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest(), _key_id(head)


def _safe_relative(name: str) -> Path:
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise BackupError(f"refusing the object name {name!r}")
    return relative


def backup_create(*, out: Path, mode: str = COPY) -> BackupReport:
    """Dump the database, then copy (or list) every stored object; write manifest.json last."""
    if mode not in (COPY, MANIFEST_ONLY):
        raise BackupError(f"unknown mode {mode!r}")
    engine = _engine()
    out = out.resolve()
    backup_check_destination(out=out)
    if connections["default"].in_atomic_block:
        # pg_dump would not see this transaction's rows, and SQLite's backup would wait for it for ever.
        raise BackupError("a backup cannot be taken inside a database transaction")
    out.mkdir(parents=True, exist_ok=True)
    report = BackupReport(out=out, engine=engine, mode=mode)
    started = time.monotonic()
    try:
        database = _dump_database(out, engine)
        applied = _applied_migrations()
        report.database_bytes = database.stat().st_size
        report.database_seconds = time.monotonic() - started
        started = time.monotonic()
        objects: dict[str, list[dict]] = {}
        for alias in STORAGE_ALIASES:
            storage = storages[alias]
            entries = objects[alias] = []
            if mode == MANIFEST_ONLY and is_s3(storage):
                for name, size, etag in _s3_listing(storage):
                    entries.append({"name": name, "size": size, "etag": etag})
                    report.objects += 1
                    report.object_bytes += size
                continue
            for name in _storage_names(storage):
                if mode == MANIFEST_ONLY:
                    size = os.path.getsize(storage.path(name))
                    entries.append({"name": name, "size": size})
                else:
                    try:
                        size, sha256, key_id = _copy_object(storage, name, out / OBJECTS / alias / _safe_relative(name))
                    except FileNotFoundError:
                        continue  # deleted since it was listed (a purge): its row is gone from live data too
                    entries.append({"name": name, "size": size, "sha256": sha256, "key_id": key_id})
                    report.key_ids[key_id] = report.key_ids.get(key_id, 0) + 1
                report.objects += 1
                report.object_bytes += size
        report.objects_seconds = time.monotonic() - started
        manifest = {
            "format": FORMAT,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "engine": engine,
            "database": database.name,
            "mode": mode,
            "migrations": applied,
            "key_ids": report.key_ids,
            "storages": {alias: ("s3" if is_s3(storages[alias]) else "local") for alias in STORAGE_ALIASES},
            "objects": objects,
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    except BaseException:
        # A half-written backup must not look like a backup: no manifest, and the folder removed.
        shutil.rmtree(out, ignore_errors=True)
        raise
    return report


def _read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError as error:
        raise BackupError(f"{source} holds no {MANIFEST}: not a (complete) backup") from error
    except ValueError as error:
        raise BackupError(f"{source / MANIFEST} is damaged: {error}") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')!r}; this release reads {FORMAT}")
    return manifest


def _verify_copies(source: Path, manifest: dict) -> None:
    for alias, entries in manifest["objects"].items():
        for entry in entries:
            path = source / OBJECTS / alias / _safe_relative(entry["name"])
            digest = hashlib.sha256()
            try:
                with open(path, "rb") as copy:
                    while chunk := copy.read(CHUNK):
                        digest.update(chunk)
            except FileNotFoundError as error:
                raise BackupError(f"the backup misses the object {alias}/{entry['name']}") from error
            if digest.hexdigest() != entry["sha256"]:
                raise BackupError(f"the backup's copy of {alias}/{entry['name']} is damaged (SHA-256 differs)")


def _verify_restored_bucket(manifest: dict) -> None:
    """Manifest mode: every listed object is in the storage, with the same size (and ETag on S3)."""
    missing, differing = [], []
    for alias, entries in manifest["objects"].items():
        storage = storages[alias]
        if is_s3(storage):
            present = {name: (size, etag) for name, size, etag in _s3_listing(storage)}
        else:
            present = {name: (os.path.getsize(storage.path(name)), None) for name in _storage_names(storage)}
        for entry in entries:
            found = present.get(entry["name"])
            if found is None:
                missing.append(f"{alias}/{entry['name']}")
            elif found[0] != entry["size"] or (entry.get("etag") and found[1] != entry["etag"]):
                differing.append(f"{alias}/{entry['name']}")
    if missing or differing:
        raise BackupError(
            f"the restored storage does not match the backup's manifest: {len(missing)} objects missing, "
            f"{len(differing)} differ (e.g. {', '.join((missing + differing)[:3])}). Restore the bucket or folder "
            "from its own backup of the same time first."
        )


def _database_tables(alias: str = "default") -> list[str]:
    with connections[alias].cursor() as cursor:
        return connections[alias].introspection.table_names(cursor)


def _check_empty_target(manifest: dict) -> None:
    tables = _database_tables()
    if tables:
        name = connections["default"].settings_dict["NAME"]
        raise BackupError(
            f"the database {name} is not empty ({len(tables)} tables): restore only into an empty database "
            "(create a new one, e.g. `createdb`, and point DATABASE_URL at it)."
        )
    if manifest["mode"] != COPY:
        return
    for alias in STORAGE_ALIASES:
        storage = storages[alias]
        if next(iter(_storage_names(storage)), None) is not None:
            where = f"bucket {storage.bucket_name}" if is_s3(storage) else f"folder {storage.location}"
            raise BackupError(
                f"the {alias!r} storage ({where}) is not empty: restore only into an empty bucket or folder."
            )


def _restore_database(source: Path, manifest: dict) -> None:
    connection = connections["default"]
    if manifest["engine"] == "postgresql":
        args, env = _pg_command("pg_restore")
        _run(
            [
                *args,
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                connection.settings_dict["NAME"],
                str(source / PG_DUMP),
            ],
            env,
            "the database restore",
        )
        connection.close()
        return
    connection.close()
    backup = sqlite3.connect(source / SQLITE_COPY)
    target = sqlite3.connect(connection.settings_dict["NAME"])
    try:
        backup.backup(target)
    finally:
        backup.close()
        target.close()


def backup_restore(*, source: Path) -> RestoreReport:
    """Restore a backup into the configured (empty) database and storages; the backup is checked first."""
    source = source.resolve()
    manifest = _read_manifest(source)
    engine = _engine()
    if manifest["engine"] != engine:
        raise BackupError(f"the backup is of a {manifest['engine']} database; the portal is set up for {engine}")
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = {f"{app}.{name}" for app, name in loader.disk_migrations}
    unknown = sorted(set(manifest["migrations"]) - known)
    if unknown:
        raise BackupError(
            f"the backup was made by a newer release ({len(unknown)} migrations this code does not know, e.g. "
            f"{unknown[0]}): restore with that release's code, then upgrade."
        )
    report = RestoreReport(engine=engine, mode=manifest["mode"], key_ids=manifest.get("key_ids", {}))
    report.pending_migrations = sorted(known - set(manifest["migrations"]))
    started = time.monotonic()
    if manifest["mode"] == COPY:
        _verify_copies(source, manifest)
    else:
        _verify_restored_bucket(manifest)
    _check_empty_target(manifest)
    report.verify_seconds = time.monotonic() - started

    started = time.monotonic()
    _restore_database(source, manifest)
    report.database_seconds = time.monotonic() - started

    started = time.monotonic()
    for alias, entries in manifest["objects"].items():
        storage = storages[alias]
        for entry in entries:
            report.objects += 1
            report.object_bytes += entry["size"]
            if manifest["mode"] != COPY:
                continue
            with open(source / OBJECTS / alias / _safe_relative(entry["name"]), "rb") as copy:
                stored_files.write_stream(storage, entry["name"], iter(lambda copy=copy: copy.read(CHUNK), b""))
    report.objects_seconds = time.monotonic() - started
    return report
