"""The kinds of actor and the audit actions; apps record their events with these names."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    MEMBER = "member", _("Mitglied")
    STAFF = "staff", _("Mitarbeiter")
    SYSTEM = "system", _("System")


class AuditAction(models.TextChoices):
    PIN_ISSUED = "pin.issued", _("PIN erstellt")
    PIN_REISSUED = "pin.reissued", _("PIN neu angefordert")
    PIN_SUCCESS = "pin.success", _("Anmeldung mit PIN")
    PIN_FAILURE = "pin.failure", _("Fehlgeschlagene PIN-Eingabe")
    PIN_LOCKED = "pin.locked", _("PIN gesperrt")
    PIN_EXPIRED = "pin.expired", _("PIN abgelaufen")
    PIN_INVALIDATED = "pin.invalidated", _("PIN ungültig gemacht")
    MEMBER_IMPORTED = "member.imported", _("Mitglied importiert")
    MEMBER_UPDATED = "member.updated", _("Stammdaten geändert")
    MEMBER_LANGUAGE_CHANGED = "member.language_changed", _("Sprache geändert")
    MEMBER_ADDRESS_CHANGED = "member.address_changed", _("Anschrift geändert")
    LETTER_REQUESTED = "letter.requested", _("Brief angefordert")
    LETTER_RENDERED = "letter.rendered", _("Brief erstellt")
    LETTER_FAILED = "letter.failed", _("Brief fehlgeschlagen")
    LETTER_COLLECTED = "letter.collected", _("Brief abgeholt")
    LETTER_RELEASED = "letter.released", _("Brief erneut freigegeben")
    LETTER_CANCELLED = "letter.cancelled", _("Brief storniert")
    DRAFT_SAVED = "draft.saved", _("Entwurf gespeichert")
    DRAFT_PURGED = "draft.purged", _("Entwurf gelöscht")
    UPLOAD_COMPLETED = "upload.completed", _("Datei hochgeladen")
    UPLOAD_DELETED = "upload.deleted", _("Datei gelöscht")
    DOCUMENT_CLEARED = "document.cleared", _("Datei geprüft und entschärft")
    DOCUMENT_HELD = "document.held", _("Datei zurückgehalten (Virenprüfung nicht möglich)")
    DOCUMENT_QUARANTINED = "document.quarantined", _("Datei in Quarantäne (Schadsoftware)")
    DOCUMENT_REFUSED = "document.refused", _("Datei abgelehnt (nicht lesbar)")
    DOCUMENT_QUARANTINE_VIEWED = "document.quarantine_viewed", _("Datei in Quarantäne angesehen")
    SUBMISSION_TRANSMITTED = "submission.transmitted", _("Übermittelt")
    SUBMISSION_STATUS = "submission.status", _("Bearbeitungsstand geändert")
    SUBMISSION_DOWNLOAD = "submission.download", _("Datei heruntergeladen")
    SUBMISSION_VIEWED = "submission.viewed", _("Datei im Browser angesehen")
    SUBMISSION_EXPORTED = "submission.exported", _("Vorgang exportiert")
    SUBMISSION_FORGOTTEN = "submission.forgotten", _("Dokumente gelöscht (Aufbewahrungsfrist abgelaufen)")
    STAFF_LOGIN = "staff.login", _("Mitarbeiter-Anmeldung")
    STAFF_LOGIN_FAILED = "staff.login_failed", _("Mitarbeiter-Anmeldung fehlgeschlagen")
    STAFF_LOGIN_LOCKED = "staff.login_locked", _("Mitarbeiter-Anmeldung gesperrt")
    STAFF_LOGIN_UNLOCKED = "staff.login_unlocked", _("Mitarbeiter-Anmeldesperre aufgehoben")
    STAFF_CREATED = "staff.created", _("Mitarbeiter angelegt")
