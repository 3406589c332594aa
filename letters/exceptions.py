"""Errors the letters services raise when a letter is not in a state that allows the action."""


class LetterStateError(Exception):
    """The action is not possible in the letter's current status; the message says why, for staff."""
