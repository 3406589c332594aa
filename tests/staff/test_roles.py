"""Every role against every admin page, staff page and print-shop page: allowed or refused as designed.

The routes are read from the admin site's registry and from the staff and letters URL modules, so a new page
that is missing from EXPECTED fails the test instead of going untested.
"""

import uuid

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone

from audit.models import AuditEvent
from campaigns.models import Campaign
from letters.constants import LetterStatus
from staff.constants import Role
from staff.models import LockScope, StaffLoginLock
from tests.letters.factories import LetterRequestFactory
from tests.uploads.factories import pdf_bytes
from uploads.models import QuarantinedFile
from uploads.rendering import document_render
from web.models import AccessibilityFeedback

from .factories import make_staff, transmitted_submission, verified_client

pytestmark = pytest.mark.django_db

CC, PS, CW, AD, CP = Role.CALL_CENTRE, Role.PRINT_SHOP, Role.CASE_WORKER, Role.ADMINISTRATOR, Role.CAMPAIGNS
# "View only": case work with the viewer and without downloads or exports.
CR = Role.CASE_READER


def _model_routes(label: str, viewers: set, writers: set) -> dict[str, set]:
    return {
        f"admin:{label}_changelist": viewers | writers,
        f"admin:{label}_change": viewers | writers,
        f"admin:{label}_history": viewers | writers,
        f"admin:{label}_add": writers,
        f"admin:{label}_delete": writers,
    }


EXPECTED: dict[str, set] = {
    # Read-only for everyone: changes go through services (address correction, new PIN, cancel).
    **_model_routes("members_member", {CC, AD}, set()),
    "admin:members_member_reissue": {CC, AD},
    "admin:members_member_address": {CC, AD},
    "admin:members_member_story": {CC, AD},
    "admin:members_member_letter_cancel": {CC, AD},
    **_model_routes("pins_letterpin", {CC, AD}, set()),
    # Append-only: administrators read it; nobody adds, changes or deletes.
    **_model_routes("audit_auditevent", {AD}, set()),
    **_model_routes("auth_user", set(), {AD}),
    "admin:auth_user_password_change": {AD},
    **_model_routes("auth_group", set(), {AD}),
    **_model_routes("otp_totp_totpdevice", set(), {AD}),
    # OTP_ADMIN_HIDE_SENSITIVE_DATA: nobody sees a TOTP secret again after enrolment.
    "admin:otp_totp_totpdevice_config": set(),
    "admin:otp_totp_totpdevice_qrcode": set(),
    **_model_routes("uploads_submissionreason", set(), {AD}),
    # Accessibility feedback: administrators read it and mark it done; nobody adds or deletes it.
    **_model_routes("web_accessibilityfeedback", {AD}, set()),
    # Files with malware: administrators read the list; only the purge task deletes them.
    **_model_routes("uploads_quarantinedfile", {AD}, set()),
    # Staff login locks: administrators see them and lift them (an action); nobody adds or deletes one.
    **_model_routes("staff_staffloginlock", {AD}, set()),
    "staff:inbox": {CW, CR, AD},
    "staff:submission": {CW, CR, AD},
    "staff:submission_status": {CW, CR, AD},
    "staff:viewer": {CW, CR, AD},
    "staff:viewer_page": {CW, CR, AD},
    "staff:thumbnail": {CW, CR, AD},
    "staff:document": {CW, AD},
    "staff:submission_export": {CW, AD},
    "letters:queue": {PS, AD},
    "letters:collect": {PS, AD},
    "letters:release": {AD},
    "letters:specimen": {CC, AD},
    # Campaigns: the campaigns role (tests/campaigns) and administrators; nobody deletes a campaign.
    **{f"admin:campaigns_campaign_{view}": {CP, AD} for view in ("changelist", "change", "history", "add")},
    "admin:campaigns_campaign_delete": set(),
    "admin:campaigns_campaign_preview": {CP, AD},
    "admin:campaigns_campaign_progress": {CP, AD},
    "admin:campaigns_campaign_action": {CP, AD},
    "letters:collect_prepared": {PS, AD},
}
INDEX_MODELS = {
    CC: {"members.Member", "pins.LetterPin"},
    PS: set(),
    CW: set(),
    CR: set(),
    CP: {"campaigns.Campaign"},
    AD: {f"{model._meta.app_label}.{model.__name__}" for model in admin.site._registry},
}


def _named_patterns(patterns, prefix: str) -> list[tuple[str, URLPattern]]:
    return [(f"{prefix}:{pattern.name}", pattern) for pattern in patterns if pattern.name]


def _routes() -> list[tuple[str, URLPattern]]:
    routes = []
    for model_admin in admin.site._registry.values():
        routes += _named_patterns(model_admin.get_urls(), "admin")
    resolver = get_resolver()
    for namespace in ("staff", "letters"):
        include = next(p for p in resolver.url_patterns if getattr(p, "namespace", None) == namespace)
        routes += _named_patterns(include.url_patterns, namespace)
    return routes


def test_every_route_has_an_expectation():
    assert sorted(name for name, _pattern in _routes() if name not in EXPECTED) == []


@pytest.fixture
def world(member, issue_pin):
    """One object of every kind the routes need."""
    pin = issue_pin(member).pin
    letter = LetterRequestFactory(member=member, status=LetterStatus.RENDERED, pin=pin)
    submission = transmitted_submission(member, files={"a.pdf": pdf_bytes()})
    document_render(document_id=submission.documents.get().pk)  # the viewer's pages and thumbnail
    other_staff = make_staff(Role.PRINT_SHOP)
    campaign = Campaign.objects.create(name="Bonus", case_title="Bonusprogramm")
    feedback = AccessibilityFeedback.objects.create(message="Kontrast zu schwach")
    quarantined = QuarantinedFile.objects.create(
        public_id=uuid.uuid4(), member=member, name="x.pdf", mime_type="application/pdf", size=1, sha256="0" * 64,
        signature="Test", storage_name="documents/x", delete_after=timezone.now(),
    )  # fmt: skip
    lock = StaffLoginLock.objects.create(scope=LockScope.ADDRESS, subject="203.0.113.1", failures=3)
    return {
        "member": member, "pin": pin, "letter": letter, "submission": submission, "staff": other_staff,
        "campaign": campaign, "feedback": feedback, "quarantined": quarantined, "lock": lock,
    }  # fmt: skip


def _kwargs(name: str, pattern: URLPattern, world) -> dict:
    model_admin = next(
        (ma for ma in admin.site._registry.values() if any(p.name == name.split(":")[1] for p in ma.get_urls())), None
    )
    instances = {
        "members.member": world["member"],
        "pins.letterpin": world["pin"],
        "audit.auditevent": AuditEvent.objects.first(),
        "auth.user": get_user_model().objects.get(pk=world["staff"].user.pk),
        "otp_totp.totpdevice": world["staff"].device,
        "uploads.submissionreason": world["submission"].reason,
        "uploads.quarantinedfile": world["quarantined"],
        "auth.group": world["staff"].user.groups.get(),
        "campaigns.campaign": world["campaign"],
        "staff.staffloginlock": world["lock"],
        "web.accessibilityfeedback": world["feedback"],
    }
    obj = instances[model_admin.opts.label_lower] if model_admin else None
    values = {
        "object_id": getattr(obj, "pk", None),
        "id": getattr(obj, "pk", None),
        "pk": getattr(obj, "pk", None),
        "member_id": world["member"].pk,
        "letter_id": world["letter"].pk,
        "reference": world["submission"].reference,
        "document_id": world["submission"].documents.get().public_id,
        "batch_id": world["letter"].pk,
        "number": 1,
    }
    return {key: values[key] for key in pattern.pattern.converters}


def _allowed(response) -> bool:
    if response.status_code == 302:
        return reverse("admin:login") not in response["Location"]
    return response.status_code == 200


@pytest.mark.parametrize("role", Role.values)
def test_role_gets_exactly_its_pages(role, world):
    client = verified_client(make_staff(role))
    wrong = []
    for name, pattern in _routes():
        url = reverse(name, kwargs=_kwargs(name, pattern, world))
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url)
        allowed = _allowed(response)
        if allowed != (role in EXPECTED[name]) or (not allowed and response.status_code != 403):
            wrong.append(f"{name} -> {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("role", Role.values)
def test_admin_index_lists_only_the_roles_models(role):
    client = verified_client(make_staff(role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    listed = {
        f"{app['app_label']}.{model['object_name']}" for app in response.context["app_list"] for model in app["models"]
    }
    assert listed == INDEX_MODELS[role]


@pytest.mark.parametrize("role", Role.values)
def test_app_pages_of_other_roles_are_not_found(role):
    client = verified_client(make_staff(role))
    wrong = []
    for app_label in sorted({model._meta.app_label for model in admin.site._registry}):
        visible = any(label.startswith(f"{app_label}.") for label in INDEX_MODELS[role])
        status = client.get(reverse("admin:app_list", args=[app_label])).status_code
        if status != (200 if visible else 404):
            wrong.append(f"{app_label} -> {status}")
    assert wrong == []


@pytest.mark.parametrize("role", Role.values)
def test_audit_csv_export_only_for_administrators(role, world):
    client = verified_client(make_staff(role))
    event = AuditEvent.objects.first()
    response = client.post(
        reverse("admin:audit_auditevent_changelist"), {"action": "export_csv", "_selected_action": [event.pk]}
    )
    assert response.status_code == (200 if role == AD else 403)
