"""Staff writes: login audit, creating staff users, reissuing PINs, views in the browser, downloads and exports."""

import datetime
from base64 import b32encode
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from letters.models import LetterRequest
from letters.services import letter_request_create
from members.models import Member
from members.services import member_lock
from uploads.models import DocumentRender, RenderedPage, Submission, SubmissionDocument
from uploads.selectors import document_page_get, document_page_images, document_render_get
from uploads.services import (
    document_ensure_deliverable,
    document_open,
    document_page_read,
    document_render_request,
    submission_close,
    submission_ensure_deliverable,
)
from web.attack import attack_note_global_count
from web.throttle import login_throttle_record_guess

from .constants import Role
from .exporters import ExportResult, SubmissionExporter
from .models import LockScope, StaffLoginLock
from .selectors import login_lock_keys, login_lock_username, reissues_today

DEMO_PASSWORD = "Einmal-PIN-Demo-2026"  # noqa: S105 (a demo password by design, refused outside DEBUG)


@dataclass(frozen=True)
class StaffEnrolment:
    """A new staff user and the TOTP device they enrol in their authenticator app."""

    user: AbstractBaseUser
    device: TOTPDevice

    @property
    def otpauth_uri(self) -> str:
        return self.device.config_url

    @property
    def secret_b32(self) -> str:
        return b32encode(self.device.bin_key).decode()


def staff_login_succeeded(*, user: AbstractBaseUser, ip: str | None) -> None:
    """A staff login: audited, and the user name's count of failures starts again (the address's does not)."""
    with transaction.atomic():
        StaffLoginLock.objects.filter(
            scope=LockScope.USERNAME, subject=login_lock_username(user.get_username())
        ).update(failures=0, locked_until=None)
        audit_record(action=AuditAction.STAFF_LOGIN, actor=Actor.staff(user), ip=ip)


def staff_login_failed(*, user: AbstractBaseUser | None, username: str, reason: str, ip: str | None) -> None:
    """A refused admin login: audited, counted against the user name and the address, and toward attack mode.

    `reason` says which factor failed; the password or code is never recorded. A user name reaching
    STAFF_LOGIN_USERNAME_LIMIT failures, or an address reaching STAFF_LOGIN_ADDRESS_LIMIT, is locked for
    STAFF_LOGIN_LOCK_SECONDS, doubling with each further failure after a lock (at most STAFF_LOGIN_LOCK_MAX_SECONDS);
    while locked, its logins are refused before any password is checked (staff.selectors.staff_login_locked_until).
    """
    actor = Actor.staff(user) if user is not None else Actor.system()
    now = timezone.now()
    with transaction.atomic():
        audit_record(
            action=AuditAction.STAFF_LOGIN_FAILED, actor=actor, ip=ip, reason=reason, data={"username": username[:150]}
        )
        for scope, key in login_lock_keys(username=username, ip=ip):
            _login_failure_count(scope=scope, key=key, ip=ip, now=now)
    # The guess counts toward the global budget like a member's (attack mode) and against its address there;
    # a failure without a request (authenticate() called outside a login page) has no address to count against.
    if ip:
        login_throttle_record_guess(ip=ip, on_global=lambda count: attack_note_global_count(count=count))


def _login_failure_count(*, scope: str, key: str, ip: str | None, now: datetime.datetime) -> None:
    lock, _created = StaffLoginLock.objects.select_for_update().get_or_create(scope=scope, subject=key)
    window = datetime.timedelta(seconds=settings.STAFF_LOGIN_WINDOW_SECONDS)
    if lock.last_failure_at and now - lock.last_failure_at > window and not _is_locked(lock, now=now):
        lock.failures = 0
    lock.failures += 1
    lock.last_failure_at = now
    limit = settings.STAFF_LOGIN_USERNAME_LIMIT if scope == LockScope.USERNAME else settings.STAFF_LOGIN_ADDRESS_LIMIT
    if lock.failures >= limit:
        seconds = min(
            settings.STAFF_LOGIN_LOCK_MAX_SECONDS, settings.STAFF_LOGIN_LOCK_SECONDS * 2 ** (lock.failures - limit)
        )
        lock.locked_until = now + datetime.timedelta(seconds=seconds)
        audit_record(
            action=AuditAction.STAFF_LOGIN_LOCKED,
            actor=Actor.system(),
            ip=ip,
            reason=f"{lock.failures} failed logins",
            data={"scope": scope, "subject": key, "locked_until": lock.locked_until.isoformat()},
        )
    lock.save(update_fields=["failures", "last_failure_at", "locked_until"])


def _is_locked(lock: StaffLoginLock, *, now: datetime.datetime) -> bool:
    return lock.locked_until is not None and lock.locked_until > now


def staff_login_lock_lift(*, lock_id: int, actor: Actor) -> None:
    """An administrator lifts a login lock: its count starts again, the lift is audited."""
    with transaction.atomic():
        lock = StaffLoginLock.objects.select_for_update().get(pk=lock_id)
        lock.failures, lock.locked_until = 0, None
        lock.save(update_fields=["failures", "locked_until"])
        audit_record(
            action=AuditAction.STAFF_LOGIN_UNLOCKED, actor=actor, data={"scope": lock.scope, "subject": lock.subject}
        )


def _role_group(role: str) -> Group:
    try:
        return Group.objects.get(name=Role(role).value)
    except (ValueError, Group.DoesNotExist) as error:
        raise ValidationError(_("Unbekannte Rolle: %(role)s") % {"role": role}) from error


def staff_create(
    *, username: str, role: str, password: str, actor: Actor, email: str = "", device_name: str = ""
) -> StaffEnrolment:
    """Create a staff user in one role with a confirmed TOTP device; the password must pass the validators."""
    user_model = get_user_model()
    group = _role_group(role)
    if user_model.objects.filter(username=username).exists():
        raise ValidationError(_("Den Benutzernamen %(username)s gibt es schon.") % {"username": username})
    user = user_model(username=username, email=email, is_staff=True)
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        user.groups.add(group)
        device = TOTPDevice.objects.create(user=user, name=device_name or "Authenticator", confirmed=True)
        audit_record(action=AuditAction.STAFF_CREATED, actor=actor, data={"username": username, "role": group.name})
    return StaffEnrolment(user=user, device=device)


def _demo_key(role: str) -> str:
    # A fixed 20-byte key per role, so that the demo's authenticator codes can be computed from the README.
    return f"demo-totp-{role}".encode().ljust(20, b"-")[:20].hex()


def staff_demo_users() -> list[tuple[str, str, str, str]]:
    """Create or reset one demo user per role (DEBUG only); returns (username, role, password, TOTP secret)."""
    if not settings.DEBUG:
        raise ImproperlyConfigured("Demo staff users with known passwords exist only when DEBUG is on.")
    user_model = get_user_model()
    result = []
    with transaction.atomic():
        for role in Role:
            username = f"demo-{role.value.replace('_', '-')}"
            user, _created = user_model.objects.get_or_create(username=username)
            user.is_staff = True
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set([_role_group(role)])
            device, _created = TOTPDevice.objects.get_or_create(user=user, name="Demo", defaults={"confirmed": True})
            device.key = _demo_key(role.value)
            device.confirmed = True
            device.save()
            result.append((username, role.value, DEMO_PASSWORD, b32encode(device.bin_key).decode()))
    return result


class ReissueLimitReached(Exception):
    """The member already got STAFF_REISSUE_LIMIT_PER_DAY new PINs today; the message is for the agent."""


def staff_pin_reissue(*, member: Member, purpose: str, actor: Actor, ip: str | None = None) -> LetterRequest:
    """Request a letter with a new PIN for the member; the member's other PINs stay valid.

    At most STAFF_REISSUE_LIMIT_PER_DAY per member and day, so a caller cannot flood a member with letters.
    The worker creates the PIN and renders the letter once this transaction has committed.
    """
    limit = settings.STAFF_REISSUE_LIMIT_PER_DAY
    with transaction.atomic():
        # The row lock makes two agents reissuing for the same member at once count one after the other.
        member_lock(member=member)
        if reissues_today(member=member) >= limit:
            raise ReissueLimitReached(
                _(
                    "Für dieses Mitglied wurden heute schon %(limit)d neue PINs angefordert. "
                    "Weitere sind erst morgen möglich."
                )
                % {"limit": limit}
            )
        letter = letter_request_create(member=member, purpose=purpose, actor=actor)
        audit_record(
            action=AuditAction.PIN_REISSUED,
            actor=actor,
            member=member,
            ip=ip,
            reason=purpose,
            data={"letter_id": letter.pk},
        )
    return letter


def submission_document_download(
    *, document: SubmissionDocument, actor: Actor, ip: str | None = None
) -> Iterator[bytes]:
    """The document's content for a case worker; the download is audited (who, when, which file) first.

    Raises uploads' DocumentNotReady while it is not scanned and disarmed, FileUnavailable when the file cannot be
    read; then nothing is audited.
    """
    document_ensure_deliverable(document=document)
    chunks = document_open(document=document)
    submission = document.submission
    audit_record(
        action=AuditAction.SUBMISSION_DOWNLOAD,
        actor=actor,
        member=submission.member,
        ip=ip,
        data={"reference": submission.reference, "document": str(document.public_id)},
    )
    return chunks


@dataclass(frozen=True)
class DocumentView:
    """What the viewer shows of a document: its render (None while the worker renders it; `refused` says why it
    is not shown), its page images, the page asked for (1-based, within the pages) and that page's text."""

    render: DocumentRender | None
    pages: list[RenderedPage]
    number: int
    text: str

    @property
    def page(self) -> RenderedPage | None:
        return self.pages[self.number - 1] if self.pages else None


def submission_document_view(
    *, document: SubmissionDocument, actor: Actor, number: int = 1, ip: str | None = None
) -> DocumentView:
    """A case worker reads a document in the browser's viewer: the page `number` with its text; audited like a
    download (who, which document and page, when). Not rendered yet: the worker is asked again.

    Raises uploads' DocumentNotReady while it is not scanned and disarmed (DocumentsDeleted once deleted), and
    FileUnavailable when the page's text cannot be read; then nothing is audited.
    """
    document_ensure_deliverable(document=document)
    render = document_render_get(document=document)
    if render is None and document_render_request(document=document):
        render = document_render_get(document=document)  # an eager worker (embedded mode) has rendered it now
    pages = document_page_images(document=document) if render is not None else []
    number = min(max(number, 1), len(pages)) if pages else 1
    text = ""
    if pages:
        text_file = document_page_get(document=document, kind=RenderedPage.Kind.TEXT, number=number)
        text = document_page_read(page=text_file).decode("utf-8", "replace") if text_file else ""
    submission = document.submission
    audit_record(
        action=AuditAction.SUBMISSION_VIEWED,
        actor=actor,
        member=submission.member,
        ip=ip,
        data={"reference": submission.reference, "document": str(document.public_id), "page": number},
    )
    return DocumentView(render=render, pages=pages, number=number, text=text)


def submission_document_page(*, document: SubmissionDocument, kind: str, number: int) -> tuple[RenderedPage, bytes]:
    """A page image or the thumbnail of a deliverable document for the viewer (the page view was audited);
    Http404-worthy LookupError when there is no such page. Raises DocumentNotReady / FileUnavailable as above."""
    document_ensure_deliverable(document=document)
    page = document_page_get(document=document, kind=kind, number=number)
    if page is None:
        raise LookupError(number)
    return page, document_page_read(page=page)


def submission_exporter() -> SubmissionExporter:
    """The exporter SUBMISSION_EXPORTER names (a dotted path to a SubmissionExporter subclass)."""
    exporter_class = import_string(settings.SUBMISSION_EXPORTER)
    if not (isinstance(exporter_class, type) and issubclass(exporter_class, SubmissionExporter)):
        raise ImproperlyConfigured("SUBMISSION_EXPORTER must name a staff.exporters.SubmissionExporter subclass.")
    return exporter_class()


def submission_export(*, submission: Submission, actor: Actor, ip: str | None = None) -> ExportResult:
    """Hand the submission to the configured downstream target and audit where it went.

    Raises DocumentNotReady while a document is not yet scanned and disarmed: no exporter ever sees one.
    """
    submission_ensure_deliverable(submission=submission)
    result = submission_exporter().export(submission=submission)
    audit_record(
        action=AuditAction.SUBMISSION_EXPORTED,
        actor=actor,
        member=submission.member,
        ip=ip,
        data={"reference": submission.reference, "target": result.target},
    )
    submission_close(submission=submission)
    return result
