"""Errors of the campaigns services: a member list that cannot be read, an action the campaign's status forbids."""


class CampaignStateError(Exception):
    """The action is not possible in the campaign's status; the message says why, for staff."""


class MemberListError(Exception):
    """The member list cannot be used; `errors` holds (line number or 0, message) pairs, nothing was saved."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{line}: {message}" if line else message for line, message in errors[:5]))
