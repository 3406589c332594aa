"""The member's pages: start, login, dashboard, logout, session keep-alive, language, privacy and imprint."""

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from core.metrics import login_counted
from core.net import client_ip
from pins.constants import VerifyResult
from pins.services import VerifyOutcome, pin_verify_entry
from pins.session import (
    SessionEnd,
    current_pin,
    member_login,
    member_logout,
    member_required,
    member_session_keepalive,
)

from .attack import attack_check, attack_level, attack_note_global_count, challenge_create, login_gate
from .forms import AccessibilityFeedbackForm, LoginForm
from .services import (
    accessibility_feedback_allowed,
    accessibility_feedback_create,
    member_language_at_login,
    member_language_choose,
)
from .throttle import login_throttle_record_guess

# Said only when the PIN itself matched (VerifyOutcome.may_explain): why it cannot be used and what to do.
EXPLANATIONS = {
    VerifyResult.EXPIRED: (
        _("Ihre PIN ist abgelaufen"),
        _(
            "Eine PIN gilt %(days)s Tage ab dem Brief. Diese PIN ist älter und kann nicht mehr verwendet werden. "
            "Rufen Sie uns an, dann schicken wir Ihnen eine neue PIN."
        ),
    ),
    VerifyResult.CARD_INVALID: (
        _("Ihre Gesundheitskarte ist nicht mehr gültig"),
        _(
            "Mit einer abgelaufenen elektronischen Gesundheitskarte (eGK) ist die Anmeldung nicht möglich. "
            "Bitte rufen Sie uns an, wir klären mit Ihnen, wie es weitergeht."
        ),
    ),
    VerifyResult.ALREADY_USED: (
        _("Ihre Daten wurden bereits übermittelt"),
        _(
            "Mit dem Übermitteln Ihrer Daten hat diese PIN ihre Gültigkeit verloren. Wenn Sie noch etwas "
            "nachreichen möchten, rufen Sie uns an, dann schicken wir Ihnen eine neue PIN."
        ),
    ),
    VerifyResult.REVOKED: (
        _("Diese PIN gilt nicht mehr"),
        _(
            "Wir haben diese PIN ungültig gemacht, zum Beispiel weil ein neuer Brief mit einer neuen PIN zu Ihnen "
            "unterwegs ist. Bitte verwenden Sie die PIN aus Ihrem neuesten Brief oder rufen Sie uns an."
        ),
    ),
}


def _pin_rules() -> dict[str, int]:
    """The numbers the help texts and the checklist quote."""
    return {
        "pin_days": settings.PIN_VALIDITY_DAYS,
        "pin_attempts": settings.PIN_MAX_FAILED_ATTEMPTS,
        "idle_minutes": settings.MEMBER_IDLE_TIMEOUT_SECONDS // 60,
    }


def _safe_next(request: HttpRequest) -> str:
    """A path on this site to continue to after login, or "" ("0" or a URL name would reach redirect() as a
    view name and fail with a 500)."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url.startswith("/") and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if allowed else ""


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    return render(request, "web/start.html", _pin_rules())


def _throttled(request: HttpRequest, until) -> HttpResponse:
    response = render(request, "web/throttled.html", {"until": until}, status=429)
    response["Retry-After"] = str(max(1, math.ceil((until - timezone.now()).total_seconds())))
    return response


def _signed_in(request: HttpRequest, outcome: VerifyOutcome, next_url: str) -> HttpResponse:
    member_login(request, pin=outcome.pin)
    language = member_language_at_login(
        member=outcome.member, chosen=request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    )
    response = redirect(next_url or "web:dashboard")
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_post_parameters("pin")
def login(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if current_pin(request) is not None:
        return redirect(next_url or "web:dashboard")
    ip = client_ip(request) or ""
    gate = login_gate(ip=ip)  # the address throttle and the attack level in one cache round trip
    if gate.blocked_until:
        return _throttled(request, gate.blocked_until)

    form = LoginForm(request.POST if request.method == "POST" else None)
    level = gate.level
    # The page's script solves a challenge on "Anmelden" only while attack mode is on (no extra round trip else).
    context = {"form": form, "next": next_url, "challenge_required": level > 0, **_pin_rules()}
    if form.is_valid():
        # Attack mode: the attempt's proof of work (or, without JavaScript, its wait ticket) before its PIN.
        check = attack_check(
            level=level,
            payload=request.POST.get("altcha", ""),
            ticket=request.POST.get("wartemarke", ""),
            ip=ip,
        )
        if not check.passed:
            context["security_check"] = check
            return render(request, "web/login.html", context)
        outcome = pin_verify_entry(entry=form.entry(), ip=ip or None)
        login_counted(outcome.result)
        if outcome.ok:
            return _signed_in(request, outcome, next_url)
        if not outcome.matched:
            # Whoever knows the PIN is not guessing: only attempts without a match count against the address.
            login_throttle_record_guess(ip=ip, on_global=lambda count: attack_note_global_count(count=count))
        if outcome.may_explain:
            title, text = EXPLANATIONS[outcome.result]
            context["explanation"] = {"title": title, "text": text % {"days": settings.PIN_VALIDITY_DAYS}}
        else:
            context["failed"] = True
    return render(request, "web/login.html", context)


@require_GET
@never_cache
def login_challenge(request: HttpRequest) -> JsonResponse:
    """For the login page's script: whether a proof of work is needed now, and a fresh challenge if so."""
    level = attack_level()
    if not level:
        return JsonResponse({"required": False})
    return JsonResponse({"required": True, "challenge": challenge_create(level=level)})


@require_GET
@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", {"member": request.member, "pin": request.member_pin})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    member_logout(request)
    return redirect("web:signed_out")


@require_POST
@member_required
def keepalive(request: HttpRequest) -> JsonResponse:
    """The session warning's "stay signed in"."""
    state = member_session_keepalive(request=request)
    return JsonResponse({"remaining": state.remaining, "extendable": state.extendable})


@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    if current_pin(request) is not None:
        # Another tab kept the session alive after this one's timer ran out.
        return redirect("web:dashboard")
    reason = request.GET.get("grund")
    return render(
        request,
        "web/signed_out.html",
        {"idle": reason == SessionEnd.IDLE, "lifetime": reason == SessionEnd.LIFETIME},
    )


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the page language (Django's set_language) and remember it for a signed-in member."""
    response = set_language(request)
    pin = current_pin(request)
    if pin is not None:
        member_language_choose(member=pin.member, chosen=request.POST.get("language"))
    return response


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "web/privacy.html", _pin_rules())


@require_GET
def imprint(request: HttpRequest) -> HttpResponse:
    return render(request, "web/imprint.html")


@require_http_methods(["GET", "POST"])
def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement (BITV 2.0) with a feedback form whose reports staff read in admin."""
    form = AccessibilityFeedbackForm(request.POST or None)
    status = 400 if form.errors else 200
    if request.method == "POST" and form.is_valid():
        if accessibility_feedback_allowed(ip=client_ip(request)):
            accessibility_feedback_create(**form.cleaned_data)
            return redirect(reverse("web:accessibility") + "?gesendet=1#rueckmeldung")
        form.add_error(
            "message",
            _("Von Ihrem Anschluss kamen in der letzten Stunde schon mehrere Nachrichten. Bitte rufen Sie uns an."),
        )
        status = 429
    errors = [(form[name].id_for_label, str(error)) for name in form.errors for error in form.errors[name]]
    context = {"form": form, "errors": errors, "sent": request.GET.get("gesendet") == "1"}
    return render(request, "web/accessibility.html", context, status=status)


@require_GET
def easy_language(request: HttpRequest) -> HttpResponse:
    """The portal explained in Leichte Sprache: what it is for, how to log in, how to send documents."""
    return render(request, "web/easy_language.html", _pin_rules())
