"""Checking a login attempt: the KVNR and PIN parsed once, then one lookup, one Argon2 verification, one write."""

import datetime
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, ProgrammingError, connection, transaction
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_event, audit_insert_statement
from members.kvnr import kvnr_is_valid, kvnr_normalize
from members.models import Member

from .. import hashing
from ..constants import EndReason, PinStatus, VerifyResult
from ..format import ParsedPin, pin_parse
from ..models import LetterPin
from .validity import pin_is_expired

# Results that may be explained to the person at the keyboard: only reached after the PIN itself matched.
EXPLAINABLE = frozenset(
    {VerifyResult.EXPIRED, VerifyResult.CARD_INVALID, VerifyResult.ALREADY_USED, VerifyResult.REVOKED}
)
_NO_SELECTOR = "no PIN with this selector"


@dataclass(frozen=True)
class LoginEntry:
    """What was typed at the login, parsed once: a normalised KVNR with a valid check digit, and the PIN.

    Either part may be missing ("" / None) when it was malformed: the attempt then finds no rows, and costs
    what every other failing attempt costs.
    """

    kvnr: str = ""
    pin: ParsedPin | None = None


def login_entry_parse(*, kvnr: object, pin: object) -> LoginEntry:
    """Parse a KVNR and a PIN as typed (spaces, hyphens, lower case); a malformed KVNR becomes ""."""
    normalized_kvnr = kvnr_normalize(kvnr) if isinstance(kvnr, str) else ""
    return LoginEntry(kvnr=normalized_kvnr if kvnr_is_valid(normalized_kvnr) else "", pin=pin_parse(pin))


@dataclass(frozen=True)
class VerifyOutcome:
    result: VerifyResult
    matched: bool = False
    pin: LetterPin | None = None
    member: Member | None = None

    @property
    def ok(self) -> bool:
        return self.result == VerifyResult.SUCCESS

    @property
    def may_explain(self) -> bool:
        """True when the portal may say precisely why the PIN cannot be used (the PIN itself matched)."""
        return self.matched and self.result in EXPLAINABLE


@dataclass
class _Attempt:
    """What one login attempt decided, before anything is written: the rules' answer in plain values."""

    result: VerifyResult
    member: Member | None = None
    pin: LetterPin | None = None
    matched: bool = False
    counted: LetterPin | None = None  # the PIN this wrong entry counts against
    reason: str = ""


def _max_attempts() -> int:
    return settings.PIN_MAX_FAILED_ATTEMPTS


def _limit_reached(failed_attempts: int) -> bool:
    """The insurer's rule, in one place: a PIN with PIN_MAX_FAILED_ATTEMPTS wrong entries is locked."""
    return failed_attempts >= _max_attempts()


@dataclass(frozen=True)
class _Model:
    """One model's columns in the attempt's lookup: their names for from_db and the ORM's converters."""

    model: type
    alias: str
    names: tuple[str, ...]
    columns: tuple[str, ...]
    converters: tuple[tuple[int, tuple], ...]  # (position, converters) for the columns that have any

    @classmethod
    def of(cls, model: type, alias: str, connection) -> "_Model":
        fields = model._meta.concrete_fields
        converters = []
        for position, field in enumerate(fields):
            col = field.get_col(alias)
            found = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
            if found:
                converters.append((position, (col, found)))
        quote = connection.ops.quote_name
        return cls(
            model=model,
            alias=alias,
            names=tuple(field.attname for field in fields),
            columns=tuple(f"{alias}.{quote(field.column)}" for field in fields),
            converters=tuple(converters),
        )

    def build(self, values: list, connection):
        """A model instance from its columns of a row, converted as the ORM would convert them."""
        for position, (col, found) in self.converters:
            for converter in found:
                values[position] = converter(values[position], col, connection)
        return self.model.from_db(connection.alias, self.names, values)


@dataclass(frozen=True)
class _AttemptSql:
    """The attempt's statements, rendered once per database vendor from the models' metadata.

    The login path runs them on every attempt; compiling them through the ORM cost more CPU than the
    statements themselves, so they are written here as the ORM would write them. On PostgreSQL the lookup is
    also a prepared statement (`prepare`, run once per connection; `execute` names it): planning its join
    cost the database more than running it.
    """

    lookup: str
    update: str
    pin: _Model
    member: _Model
    user: _Model
    prepare: str = ""
    execute: str = ""


_SQL: dict[str, _AttemptSql] = {}


def _attempt_sql() -> _AttemptSql:
    sql = _SQL.get(connection.vendor)
    if sql is None:
        sql = _SQL[connection.vendor] = _attempt_sql_render()
    return sql


def _attempt_sql_render() -> _AttemptSql:
    quote = connection.ops.quote_name
    pin, member = _Model.of(LetterPin, "p", connection), _Model.of(Member, "m", connection)
    user_model = get_user_model()
    user = _Model.of(user_model, "u", connection)

    def column(model: type, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    pins, members, users = (quote(m._meta.db_table) for m in (LetterPin, Member, user_model))
    lock = " FOR UPDATE OF p" if connection.features.has_select_for_update_of else ""
    # Only names from the models' metadata and placeholders go into the text; every value is a parameter.
    lookup = (
        f"SELECT {', '.join(pin.columns + member.columns + user.columns)}"  # noqa: S608 - names from _meta
        f" FROM {pins} p"
        f" INNER JOIN {members} m ON m.{quote(Member._meta.pk.column)} = p.{column(LetterPin, 'member')}"
        f" INNER JOIN {users} u ON u.{quote(user_model._meta.pk.column)} = m.{column(Member, 'user')}"
        f" WHERE m.{column(Member, 'kvnr')} = %s"
        f" AND (p.{column(LetterPin, 'selector')} = %s OR p.{column(LetterPin, 'status')} = %s)"
        f" ORDER BY CASE WHEN p.{column(LetterPin, 'selector')} = %s THEN 0 ELSE 1 END, p.{quote('id')}"
        f" LIMIT 1{lock}"
    )
    written = ", ".join(f"{column(LetterPin, name)} = %s" for name in _WRITTEN)
    update = f"UPDATE {pins} SET {written} WHERE {quote(LetterPin._meta.pk.column)} = %s"  # noqa: S608 - _meta
    prepare = execute = ""
    if connection.vendor == "postgresql":
        parts = lookup.split("%s")
        numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        prepare = f"PREPARE {_LOOKUP_NAME} AS {numbered}"
        execute = f"EXECUTE {_LOOKUP_NAME}({', '.join(['%s'] * (len(parts) - 1))})"
    return _AttemptSql(
        lookup=lookup, update=update, pin=pin, member=member, user=user, prepare=prepare, execute=execute
    )


_LOOKUP_NAME = "pins_attempt_lookup"
# The PostgreSQL connections (psycopg's, one per thread and reconnect) on which the lookup is prepared. A
# prepared statement lives as long as its session, whatever happens to the transactions around it.
_PREPARED_ON: "weakref.WeakKeyDictionary[object, bool]" = weakref.WeakKeyDictionary()


# The PIN's columns an attempt writes, all of them every time (the row is locked, so its values are current).
_WRITTEN = ("failed_attempts", "status", "ended_at", "last_login_at", "pin_hash")
_NO_ROW = 0  # the id the UPDATE names when the attempt counts against no PIN: no row has it


def _attempt_row(*, kvnr: str, selector: str, begin: bool) -> LetterPin | None:
    """One statement: the PIN the selector names (else one active PIN of the member), row-locked, with member
    and user; None when the KVNR has neither. With `begin` (see _attempt_transaction) the transaction's BEGIN
    travels with it, and the lookup runs as the connection's prepared statement.

    The same query runs for every attempt; an unknown KVNR (or a malformed entry, kvnr "") finds no rows.
    Only the one row it returns is locked (LIMIT 1 before FOR UPDATE): the PIN an entry is counted against.
    """
    sql = _attempt_sql()
    params = [kvnr, selector, PinStatus.ACTIVE.value, selector]
    with connection.cursor() as cursor:
        if begin:
            _lookup_begun(cursor, sql, params)
        else:
            cursor.execute(sql.lookup, params)
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    sizes = len(sql.pin.names), len(sql.member.names)
    pin = sql.pin.build(row[: sizes[0]], connection)
    member = sql.member.build(row[sizes[0] : sizes[0] + sizes[1]], connection)
    member.user = sql.user.build(row[sizes[0] + sizes[1] :], connection)
    pin.member = member
    return pin


def _lookup_begun(cursor, sql: _AttemptSql, params: list) -> None:
    """BEGIN and the prepared lookup in one round trip (its PREPARE too, the first time on this connection);
    the cursor is left on the lookup's rows.

    A transaction pooler may change the server session under the connection: one that lost its prepared
    statement (DISCARD ALL, DEALLOCATE) gets it again, and one that already has it (prepared there through
    another client) uses it. Either way the failed round trip is rolled back and sent once more.
    """
    raw = connection.connection
    for attempt in range(2):
        prepared = _PREPARED_ON.get(raw, False)
        text = f"BEGIN; {sql.execute}" if prepared else f"{sql.prepare}; BEGIN; {sql.execute}"
        try:
            cursor.execute(text, params)
        except ProgrammingError as error:
            state = getattr(error.__cause__, "sqlstate", "")
            if attempt or state != (_UNDEFINED_STATEMENT if prepared else _DUPLICATE_STATEMENT):
                raise
            cursor.execute("ROLLBACK")
            _PREPARED_ON[raw] = not prepared
            continue
        _PREPARED_ON[raw] = True
        while cursor.nextset():  # to the last statement's result: the lookup's rows
            pass
        return


_UNDEFINED_STATEMENT = "26000"  # invalid_sql_statement_name: no prepared statement of that name
_DUPLICATE_STATEMENT = "42P05"  # duplicate_prepared_statement: the session has it already


def _attempt_decide(*, row: LetterPin | None, selector: str, normalized: str, now: datetime.datetime) -> _Attempt:
    """The PIN rules for one attempt. Exactly one Argon2 verification on every path."""
    member = row.member if row else None
    target = row if row and selector and row.selector == selector else None
    if member is None or target is None:
        hashing.pin_hash_verify_dummy(normalized)
        if member is None:
            return _Attempt(result=VerifyResult.UNKNOWN, reason="unknown KVNR")
        # A selector naming none of the member's PINs counts against no PIN: whoever knows a KVNR must not be
        # able to lock that member out. The guess still counts against its address and the global budget (web).
        return _Attempt(result=VerifyResult.WRONG, member=member, reason=_NO_SELECTOR)
    if target.status == PinStatus.LOCKED or _limit_reached(target.failed_attempts):
        # A locked PIN is never evaluated again: the portal can never say "locked" after a match.
        hashing.pin_hash_verify_dummy(normalized)
        return _Attempt(result=VerifyResult.LOCKED, member=member, pin=target, reason="PIN locked")
    if not hashing.pin_hash_verify(target.pin_hash, normalized):
        return _Attempt(result=VerifyResult.WRONG, member=member, pin=target, counted=target, reason="wrong PIN")
    result = _result_after_match(pin=target, member=member, now=now)
    reason = "" if result == VerifyResult.SUCCESS else f"PIN matched but {result.value}"
    return _Attempt(result=result, member=member, pin=target, matched=True, reason=reason)


def _result_after_match(*, pin: LetterPin, member: Member, now: datetime.datetime) -> VerifyResult:
    if pin.status == PinStatus.INVALIDATED:
        return VerifyResult.ALREADY_USED if pin.end_reason == EndReason.TRANSMITTED else VerifyResult.REVOKED
    if pin_is_expired(pin=pin, now=now):
        return VerifyResult.EXPIRED
    if not member.card_is_valid(on=timezone.localdate(now)):
        return VerifyResult.CARD_INVALID
    return VerifyResult.SUCCESS


def _attempt_write(*, attempt: _Attempt, normalized: str, ip: str | None, now: datetime.datetime, commit: bool) -> None:
    """Two statements for every attempt, whatever it decided, sent together: one UPDATE of a PIN and one INSERT
    of audit rows (and, with PIN_ATTEMPT_SYNCHRONOUS_COMMIT off, the commit's setting; with `commit`, the
    COMMIT of the attempt's transaction: see _attempt_transaction).

    A wrong entry adds one to the PIN it names and locks it when it reaches the limit; a success records the
    login (and a renewed hash). An attempt that counts against nothing (unknown KVNR, a selector naming no PIN,
    a locked PIN, a match that cannot be used) still runs its UPDATE, on an id no row has, so the database does
    the same kind of work whether or not the KVNR exists. The row is locked since the lookup, so the values
    written are the database's plus this attempt.
    """
    locked = []
    target = attempt.counted
    if target is not None:
        target.failed_attempts += 1
        if _limit_reached(target.failed_attempts):
            target.status, target.ended_at = PinStatus.LOCKED, now
            locked.append(target)
    elif attempt.result == VerifyResult.SUCCESS:
        target = attempt.pin
        target.last_login_at = now
        if hashing.pin_hash_needs_rehash(target.pin_hash):
            target.pin_hash = hashing.pin_hash_create(normalized)
    if target is not None:
        values = [getattr(target, name) for name in _WRITTEN] + [target.pk]
    else:
        values = [0, "", None, None, "", _NO_ROW]
    events = _attempt_events(attempt=attempt, locked=locked, ip=ip, limit=_max_attempts())
    statements = [
        (_attempt_sql().update, values),
        audit_insert_statement(events=events, connection=connection),
    ]
    if not settings.PIN_ATTEMPT_SYNCHRONOUS_COMMIT and connection.vendor == "postgresql":
        # The commit returns before its WAL reaches the disk (see pin_verify_entry).
        statements.append(("SET LOCAL synchronous_commit TO off", []))
    if commit:
        statements.append(("COMMIT", []))
    _execute_together(statements)


def _execute_together(statements: list[tuple[str, list]]) -> None:
    """Run statements in one round trip where the database takes several at once (PostgreSQL), else in turn."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("; ".join(sql for sql, _ in statements), [p for _, params in statements for p in params])
        else:
            for sql, params in statements:
                cursor.execute(sql, params)


def _attempt_events(*, attempt: _Attempt, locked: list[LetterPin], ip: str | None, limit: int) -> list:
    """The attempt's audit rows: its success or failure, and one row for each PIN it locked."""
    member = attempt.member
    actor = Actor.member(member.user) if attempt.matched else Actor.system()
    if attempt.result == VerifyResult.SUCCESS:
        action, data = AuditAction.PIN_SUCCESS, {"pin_id": attempt.pin.pk}
    else:
        action, data = AuditAction.PIN_FAILURE, {"pin_id": attempt.pin.pk} if attempt.pin else {}
    events = [audit_event(action=action, actor=actor, member=member, ip=ip, reason=attempt.reason, data=data)]
    events += [
        audit_event(
            action=AuditAction.PIN_LOCKED,
            actor=Actor.system(),
            member=member,
            ip=ip,
            reason=f"{limit} wrong entries",
            data={"pin_id": row.pk},
        )
        for row in locked
    ]
    return events


@contextmanager
def _attempt_transaction() -> Iterator[bool]:
    """The attempt's transaction; yields True when the attempt's own statements carry its BEGIN and COMMIT.

    On PostgreSQL outside any transaction (the login view) the BEGIN travels with the lookup and the COMMIT
    with the write: two round trips in all, where Django's atomic() adds one for each. The connection stays in
    autocommit for Django meanwhile; nothing between the two runs a query of its own. Should anything raise
    before the COMMIT, the transaction is rolled back here (and a connection that cannot roll back closed, as
    atomic() does). Inside a caller's transaction, and on other databases, atomic() wraps the attempt.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic():
            yield False
        return
    try:
        yield True
    except BaseException:
        _rollback_open_transaction()
        raise


def _rollback_open_transaction() -> None:
    from psycopg.pq import TransactionStatus

    raw = connection.connection
    if raw is None or raw.info.transaction_status == TransactionStatus.IDLE:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
    except DatabaseError:
        connection.close()


def pin_verify(*, kvnr: str, pin: str, ip: str | None) -> VerifyOutcome:
    """Check a KVNR and PIN as typed (scripts, the demo, tests): parsed here once, then pin_verify_entry."""
    return pin_verify_entry(entry=login_entry_parse(kvnr=kvnr, pin=pin), ip=ip)


def pin_verify_entry(*, entry: LoginEntry, ip: str | None) -> VerifyOutcome:
    """Check a parsed login attempt with equal work on every path: one lookup, one Argon2 verification, one write.

    Every attempt runs the same statements: the lookup (one SELECT ... FOR UPDATE), one Argon2 verification
    (a dummy one where there is no hash to check), one UPDATE of the counted PIN and one INSERT of audit rows
    (sent together), then the commit: on PostgreSQL two round trips, BEGIN with the lookup and COMMIT with the
    write (_attempt_transaction). The PIN row stays locked while the hash is checked and the attempt
    counted, so concurrent attempts on one PIN are evaluated one after another and each sees the count the
    previous one left: never more than PIN_MAX_FAILED_ATTEMPTS wrong guesses are evaluated.

    PIN_ATTEMPT_SYNCHRONOUS_COMMIT=False (PostgreSQL) lets the attempt's commit return before its WAL reaches
    the disk: the commit's flush is the largest cost beside Argon2 on a slow disk. Off, a crash of the database
    server can lose the attempts of its last fraction of a second (wal_writer_delay x 3): counters and audit
    rows that were answered but not yet on disk. The row lock and the five-entry rule are unchanged.
    """
    now = timezone.now()
    parsed = entry.pin
    selector = parsed.selector if parsed else ""
    normalized = parsed.normalized if parsed else ""
    with _attempt_transaction() as own:
        # A malformed PIN finds no rows, as an unknown KVNR does.
        row = _attempt_row(kvnr=entry.kvnr if parsed else "", selector=selector, begin=own)
        attempt = _attempt_decide(row=row, selector=selector, normalized=normalized, now=now)
        _attempt_write(attempt=attempt, normalized=normalized, ip=ip, now=now, commit=own)
    return VerifyOutcome(result=attempt.result, matched=attempt.matched, member=attempt.member, pin=attempt.pin)
