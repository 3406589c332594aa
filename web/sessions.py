"""The session engine (SESSION_ENGINE): Django's database sessions, written once when a session starts.

Django's store writes a session that starts at login three times: a SELECT for a free key, an INSERT of an empty
row (cycle_key) and an UPDATE with the data at the end of the request. Here it is one INSERT with the data:

- a new key is not looked up first: the INSERT's primary key refuses a key in use (1 in 36**32), and
  Django's create() then draws another;
- cycle_key on a session that has no row yet (no cookie, or one naming no session) draws no key: the new
  session gets its key and its single row when the response saves it. There is no old key to rotate away
  from, so session fixation stays impossible; a session with a row is cycled as Django does.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self) -> None:
        self._session  # noqa: B018 - loads the session: a key naming no row becomes None here
        if self.session_key is None:
            self.modified = True
            return
        super().cycle_key()
