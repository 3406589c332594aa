"""No secret can be read through the admin's URL lookups, for any role and any registered ModelAdmin (issue 13.3)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from core.admin_mixins import field_is_secret, lookup_touches_secret
from pins.models import LetterPin
from staff.constants import Role
from tests.factories import MemberFactory
from tests.staff.factories import make_staff, verified_client

pytestmark = pytest.mark.django_db

LOOKUPS = ["regex", "startswith", "exact", "istartswith", "contains", "iregex", "gt", "in"]


def _secret_paths(model) -> list[str]:
    """Every secret field of the model, and of the models one relation away (pins__pin_hash, user__password)."""
    paths = []
    for field in model._meta.get_fields():
        if field_is_secret(field) and field.concrete:
            paths.append(field.name)
        related = getattr(field, "related_model", None)
        if field.is_relation and related is not None and related is not model:
            paths += [
                f"{field.name}__{inner.name}" for inner in related._meta.concrete_fields if field_is_secret(inner)
            ]
    return paths


def _registered():
    for model, model_admin in admin.site._registry.items():
        paths = _secret_paths(model)
        if paths:
            yield model, model_admin, paths


def test_the_secrets_the_issue_names_are_known_as_secret():
    from django.contrib.auth.models import User
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from members.models import Member

    assert lookup_touches_secret(LetterPin, "pin_hash__regex")
    assert lookup_touches_secret(LetterPin, "selector")
    assert lookup_touches_secret(TOTPDevice, "key__startswith")
    assert lookup_touches_secret(User, "password__startswith")
    assert lookup_touches_secret(Member, "pins__pin_hash__regex")
    assert lookup_touches_secret(Member, "user__totpdevice__key")
    assert not lookup_touches_secret(LetterPin, "status__exact")
    assert not lookup_touches_secret(Member, "kvnr")


def test_every_model_admin_with_a_secret_is_walked():
    walked = {model._meta.label for model, _admin, _paths in _registered()}
    assert {"pins.LetterPin", "otp_totp.TOTPDevice", "auth.User", "members.Member"} <= walked


def test_no_model_admin_shows_searches_or_filters_a_secret_field():
    for model, model_admin in admin.site._registry.items():
        named = [*model_admin.list_display, *model_admin.search_fields, *(model_admin.date_hierarchy or "").split()]
        named += [item for item in model_admin.list_filter if isinstance(item, str)]
        for name in named:
            if isinstance(name, str):
                assert not lookup_touches_secret(model, name.lstrip("^=@")), (model, name)


@pytest.mark.parametrize("role", list(Role))
def test_no_role_can_filter_a_changelist_by_a_secret_field(role, issue_pin):
    member = MemberFactory()
    issued = issue_pin(member)
    client = verified_client(make_staff(role))
    first = {
        "pin_hash": issued.pin.pin_hash[:12],
        "selector": issued.pin.selector,
    }
    for model, _model_admin, paths in _registered():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for path in paths:
            value = first.get(path.rsplit("__", 1)[-1], "$")
            for lookup in LOOKUPS:
                response = client.get(url, {f"{path}__{lookup}": value if lookup != "regex" else f"^{value}"})
                # 400 (refused lookup) or 403 (no access to this changelist at all): never an answer that
                # would differ between a right and a wrong guess.
                assert response.status_code in (400, 403), (role, model._meta.label, path, lookup)
            response = client.get(url, {path: value})
            assert response.status_code in (400, 403), (role, model._meta.label, path)


def test_a_call_centre_agent_still_filters_pins_by_status(issue_pin):
    client = verified_client(make_staff(Role.CALL_CENTRE))
    issue_pin(MemberFactory())
    response = client.get(reverse("admin:pins_letterpin_changelist"), {"status__exact": "active"})
    assert response.status_code == 200


def test_totp_change_page_never_shows_the_key():
    administrator = make_staff(Role.ADMINISTRATOR)
    client = verified_client(administrator)
    device = administrator.device
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])).content.decode()
    assert device.key not in page
    assert device.key.upper() not in page
    for view in ("config", "qrcode"):
        response = client.get(reverse(f"admin:otp_totp_totpdevice_{view}", args=[device.pk]))
        assert response.status_code == 403


def test_totp_add_page_shows_no_key_either():
    client = verified_client(make_staff(Role.ADMINISTRATOR))
    page = client.get(reverse("admin:otp_totp_totpdevice_add")).content.decode()
    assert 'name="key"' not in page
