"""Error pages a member understands (400, 403, 404, 500, CSRF) and the 503 "try again" page for a database outage.

They render from settings alone, without the database or the session: either may be what just failed. Script
requests (the autosave and tus endpoints send `Accept: application/json` or `Tus-Resumable`) get JSON with a
`message` instead of a page.
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .context_processors import portal as portal_context

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before trying again while the database is away (a restart takes about that).
RETRY_AFTER_SECONDS = 30

# The last resort when even the template cannot be rendered: plain, German and English, with the hotline.
_FALLBACK_503 = (
    '<!DOCTYPE html><html lang="de"><meta charset="utf-8"><title>Bitte gleich noch einmal versuchen</title>'
    '<h1>Bitte versuchen Sie es gleich noch einmal.</h1><p><a id="try-again" href="">Erneut versuchen</a></p>'
    '<p lang="en">Please try again in a moment.</p><p>Hotline: {phone}</p></html>'
)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether the database could not be reached (or the connection broke), also when another error wraps it.

    Django turns a failed session save into SessionInterrupted (a 400) with the database error as its context,
    so the chain of causes is followed, a few links deep.
    """
    for _depth in range(5):
        if error is None:
            return False
        if isinstance(error, OperationalError | InterfaceError):
            return True
        error = error.__cause__ or error.__context__
    return False


class DatabaseOutageLogFilter(logging.Filter):
    """For django.request: a request failed by a database outage is logged in one line, without its traceback.

    During a restart every request fails the same way, often twice (two middlewares read the session), and a
    hundred-line traceback each would bury everything else in the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and database_unavailable(record.exc_info[1]):
            record.msg = f"{record.msg} (database unavailable: {type(record.exc_info[1]).__name__})"
            record.exc_info = None
            record.exc_text = None
        return True


def wants_json(request: HttpRequest) -> bool:
    """The page scripts' requests: autosave asks for JSON, the upload client speaks tus."""
    return "Tus-Resumable" in request.headers or "application/json" in request.headers.get("Accept", "")


def _retry_url(request: HttpRequest) -> str:
    """Where "try again" leads: this page, or after a form was sent, the page the form was on."""
    if request.method == "GET":
        return request.get_full_path()
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return referer
    return reverse("web:start")


def _render(request: HttpRequest, status: int, *, title: str, text: str, retry: bool = False) -> HttpResponse:
    """The error page with only what base.html needs; no context processor runs (they may read the session)."""
    context = {
        **portal_context(request),
        "request": request,
        "csrf_token": get_token(request),
        "LANGUAGES": settings.LANGUAGES,
        "title": title,
        "text": text,
        "status": status,
        "retry_url": _retry_url(request),
        "retry": retry,
    }
    return HttpResponse(get_template("web/error.html").render(context), status=status)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After and no-store: the portal is briefly unable to serve (the database is away)."""
    message = _("Das Portal ist gerade kurz nicht erreichbar. Bitte versuchen Sie es in einem Moment noch einmal.")
    if wants_json(request):
        response = JsonResponse({"message": message}, status=503)
    else:
        try:
            response = _render(
                request,
                503,
                title=_("Bitte versuchen Sie es gleich noch einmal"),
                text=message + " " + _("Was Sie bisher gespeichert haben, bleibt erhalten."),
                retry=True,
            )
        except Exception:  # the page must never fail in turn: then a plain one with the hotline
            logger.exception("the 503 page could not be rendered")
            response = HttpResponse(_FALLBACK_503.format(phone=escape(settings.INSURER.hotline_phone)), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def _error(request: HttpRequest, status: int, *, title: str, text: str) -> HttpResponse:
    if wants_json(request):
        response = JsonResponse({"message": text}, status=status)
    else:
        response = _render(request, status, title=title, text=text)
    add_never_cache_headers(response)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if database_unavailable(exception):
        return service_unavailable(request)
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request)
    return _error(
        request,
        400,
        title=_("Die Anfrage konnte nicht bearbeitet werden"),
        text=_("Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."),
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        403,
        title=_("Kein Zugriff"),
        text=_(
            "Diese Seite können Sie nicht aufrufen. Wenn Sie angemeldet waren, ist Ihre Anmeldung vielleicht "
            "abgelaufen: Bitte melden Sie sich erneut an."
        ),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        404,
        title=_("Diese Seite gibt es nicht"),
        text=_("Vielleicht ist der Link veraltet oder unvollständig. Auf der Startseite finden Sie alles Weitere."),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500; Django calls it while handling the exception, also one raised in a middleware."""
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    return _error(
        request,
        500,
        title=_("Das hat leider nicht geklappt"),
        text=_(
            "Bei uns ist ein Fehler aufgetreten. Was Sie bisher gespeichert haben, bleibt erhalten. "
            "Bitte versuchen Sie es später noch einmal."
        ),
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: usually a page left open for long (or cookies blocked), so say that and how to go on."""
    return _error(
        request,
        403,
        title=_("Die Seite war zu lange geöffnet"),
        text=_(
            "Aus Sicherheitsgründen konnten wir Ihre Eingabe nicht annehmen. Bitte laden Sie die Seite neu und "
            "versuchen Sie es noch einmal. Falls das nicht hilft, lassen Sie bitte Cookies für dieses Portal zu."
        ),
    )


def request_too_large(request: HttpRequest) -> HttpResponse:
    """413: a form sent more than the portal accepts (files go through the upload page, one at a time)."""
    return _error(
        request,
        413,
        title=_("Die Anfrage ist zu groß"),
        text=_(
            "Was Sie gesendet haben, ist zu groß für dieses Formular. Dokumente laden Sie bitte einzeln auf der "
            "Seite Ihres Antrags hoch (höchstens %(max)s MB je Datei)."
        )
        % {"max": settings.UPLOAD_MAX_FILE_SIZE // 2**20},
    )


class RequestTooLargeMiddleware:
    """A form or JSON body larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets the 413 page before anything reads it.

    Django would raise RequestDataTooBig when the body is read (bad_request above turns that into the 413
    page); with DEBUG on it would show its technical page instead. Multipart bodies (files are streamed to
    disk, not held in memory) and tus requests are left to their views.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            limit is not None
            and request.method == "POST"
            and not request.content_type.startswith("multipart/")
            and "Tus-Resumable" not in request.headers
        ):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                # This runs before LocaleMiddleware: the page speaks the member's language all the same.
                with translation.override(translation.get_language_from_request(request)):
                    return request_too_large(request)
        return self.get_response(request)
