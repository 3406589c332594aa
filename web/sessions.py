"""The session engine (SESSION_ENGINE): Django's database sessions, written once when a session starts.

Django's store writes a session that starts at login three times: a SELECT for a free key, an INSERT of an empty
row (cycle_key) and an UPDATE with the data at the end of the request. Here it is one INSERT with the data:

- a new key is not looked up first: the INSERT's primary key refuses a key in use (1 in 36**32), and
  Django's create() then draws another;
- cycle_key on a session that has no row yet (no cookie, or one naming no session) draws no key: the new
  session gets its key and its single row when the response saves it. There is no old key to rotate away
  from, so session fixation stays impossible; a session with a row is cycled as Django does.

That INSERT is one statement in autocommit, its own transaction: Django wraps it in atomic(), which costs a
round trip for BEGIN and one for COMMIT (inside a caller's transaction Django's own save runs, savepoint and all).
A key is drawn as one random number below 36**32 written in base 36: the same keys, equally likely, as
Django's get_random_string(32, VALID_KEY_CHARS), which asks the operating system once per character.
"""

import secrets

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.db import IntegrityError, connections, router

KEY_LENGTH = 32
_KEYS = len(VALID_KEY_CHARS) ** KEY_LENGTH


class SessionStore(db.SessionStore):
    def _get_new_session_key(self) -> str:
        number, characters = secrets.randbelow(_KEYS), []
        for _ in range(KEY_LENGTH):
            number, digit = divmod(number, len(VALID_KEY_CHARS))
            characters.append(VALID_KEY_CHARS[digit])
        return "".join(characters)

    def cycle_key(self) -> None:
        self._session  # noqa: B018 - loads the session: a key naming no row becomes None here
        if self.session_key is None:
            self.modified = True
            return
        super().cycle_key()

    def save(self, must_create: bool = False) -> None:
        if not must_create or self.session_key is None:
            return super().save(must_create=must_create)
        obj = self.create_model_instance(self._get_session(no_load=True))
        using = router.db_for_write(self.model, instance=obj)
        if connections[using].in_atomic_block:
            return super().save(must_create=True)
        try:
            obj.save(force_insert=True, using=using)
        except IntegrityError as error:
            raise CreateError from error
        return None
