"""/metrics: only with the token; counters from the login path and uploads, gauges from the database; no KVNR or PIN."""

import logging
import os

import pytest

from letters.constants import LetterStatus
from letters.models import LetterRequest

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def _scrape() -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return response.content.decode()

    return _scrape


def value(text: str, sample: str) -> float:
    """The value of one sample line, e.g. 'portal_logins_total{outcome="wrong"}'; 0 when absent."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.django_db
def test_metrics_do_not_exist_without_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 404


@pytest.mark.django_db
def test_logins_by_outcome_and_no_kvnr_or_pin_in_any_label(client, scrape, member, issue_pin):
    issued = issue_pin(member)
    before = scrape()
    client.post("/anmelden/", {"kvnr": member.kvnr, "pin": "ABCD-EFGH-JKLM"})
    client.post("/anmelden/", {"kvnr": member.kvnr, "pin": issued.plaintext})
    text = scrape()
    assert (
        value(text, 'portal_logins_total{outcome="wrong"}') == value(before, 'portal_logins_total{outcome="wrong"}') + 1
    )
    assert (
        value(text, 'portal_logins_total{outcome="success"}')
        == value(before, 'portal_logins_total{outcome="success"}') + 1
    )
    assert value(text, 'portal_pins{status="active"}') >= 1
    normalized = issued.plaintext.replace("-", "").upper()
    for secret in (member.kvnr, issued.plaintext, normalized, normalized[:4] + "-" + normalized[4:8]):
        assert secret not in text
    # Request latencies are labelled by route pattern, not by path.
    assert 'route="/anmelden/"' in text


@pytest.mark.django_db
def test_letter_gauges_count_by_status_and_age_of_the_oldest_request(scrape, member):
    LetterRequest.objects.create(member=member, purpose="Test", status=LetterStatus.RENDERED)
    text = scrape()
    assert value(text, 'portal_letters{status="rendered"}') == 1
    assert value(text, "portal_print_letters_waiting") == 1
    assert value(text, 'portal_scrape_error{part="database"}') == 0


@pytest.mark.django_db
def test_a_scrape_answers_while_the_broker_is_away(scrape, settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING):
        text = scrape()
    assert value(text, 'portal_scrape_error{part="broker"}') == 1
    assert "portal_pins" in text


@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), reason="needs Redis")
@pytest.mark.django_db
def test_celery_queue_length_is_read_from_redis(scrape, settings):
    import redis

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    settings.CELERY_TASK_DEFAULT_QUEUE = "ops-test-queue"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("ops-test-queue")
    client.rpush("ops-test-queue", "a", "b", "c")
    try:
        text = scrape()
    finally:
        client.delete("ops-test-queue")
    assert value(text, 'portal_celery_queue_length{queue="ops-test-queue"}') == 3


@pytest.mark.django_db
def test_attack_mode_is_a_gauge_that_rises_while_guesses_exceed_the_global_budget(scrape, settings):
    from web.attack import attack_note_global_count

    assert value(scrape(), "portal_login_attack_level") == 0
    settings.LOGIN_THROTTLE_GLOBAL_LIMIT = 5
    attack_note_global_count(count=50)
    assert value(scrape(), "portal_login_attack_level") >= 1
