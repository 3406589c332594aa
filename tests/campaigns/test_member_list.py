"""Tests for reading a campaign's member list (campaigns.services.member_list_read) and the skip counts."""

import pytest

from campaigns.constants import SkipReason
from campaigns.exceptions import MemberListError
from campaigns.models import Campaign, CampaignRecipient
from campaigns.services import member_list_read
from tests.campaigns.conftest import csv_of
from tests.factories import make_kvnr

GOOD = [make_kvnr(n) for n in range(1, 4)]


def test_one_kvnr_a_line_with_bom_and_any_spelling():
    result = member_list_read(upload=csv_of(GOOD[0], GOOD[1].lower(), f" {GOOD[2][:5]} {GOOD[2][5:]} ", bom=True))
    assert [kvnr for _line, kvnr in result.entries] == GOOD


def test_semicolons_and_a_kvnr_column():
    result = member_list_read(upload=csv_of("name;kvnr", f"Erika;{GOOD[0]}", f"Max;{GOOD[1]}"))
    assert [kvnr for _line, kvnr in result.entries] == GOOD[:2]


def test_a_wrong_check_digit_is_named_with_its_line_and_nothing_is_taken():
    wrong = GOOD[1][:-1] + str((int(GOOD[1][-1]) + 1) % 10)
    with pytest.raises(MemberListError) as caught:
        member_list_read(upload=csv_of(GOOD[0], wrong, GOOD[2], "kaputt"))
    assert [line for line, _message in caught.value.errors] == [2, 4]
    assert wrong in caught.value.errors[0][1]


def test_duplicates_are_reported_not_doubled():
    result = member_list_read(upload=csv_of(GOOD[0], GOOD[1], GOOD[0], GOOD[0]))
    assert [kvnr for _line, kvnr in result.entries] == GOOD[:2]
    assert result.duplicates == [3, 4]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "leer"),
        (b"\n\n  \n", "leer"),
        (b"%PDF-1.7\x00\x01\x02\xff\xfe binary", "Binärdaten"),
        (b"\xff\xfe\xfa latin", "UTF-8"),
        (b"kvnr\n", "keine KVNR"),
    ],
)
def test_empty_binary_and_undecodable_files_get_a_clear_message(data, message):
    import io

    with pytest.raises(MemberListError) as caught:
        member_list_read(upload=io.BytesIO(data))
    assert message in caught.value.errors[0][1]


def test_more_than_a_million_lines_are_refused():
    import io

    data = (GOOD[0] + "\n").encode() * 1_000_001
    with pytest.raises(MemberListError) as caught:
        member_list_read(upload=io.BytesIO(data))
    assert "1.000.000" in caught.value.errors[0][1]


def test_campaign_counts_who_is_skipped_and_why(make_campaign, members, expired_member, homeless_member):
    unknown = make_kvnr(99_999_999, "Z")
    campaign = make_campaign([*members, expired_member, homeless_member])
    from campaigns.services import campaign_add_members

    campaign_add_members(
        campaign=campaign, members=member_list_read(upload=csv_of(members[0].kvnr, unknown, members[0].kvnr))
    )
    campaign.refresh_from_db()
    counts = campaign.skipped["counts"]
    assert campaign.recipient_count == 5
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 5
    assert counts[SkipReason.CARD_EXPIRED] == 1
    assert counts[SkipReason.NO_ADDRESS] == 1
    assert counts[SkipReason.UNKNOWN_KVNR] == 1
    # Once already in the campaign from the first list, once a duplicate line in the second.
    assert counts[SkipReason.ALREADY_IN_CAMPAIGN] == 2
    assert Campaign.objects.count() == 1
