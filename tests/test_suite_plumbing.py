"""The suite's own plumbing (tests/conftest.py): workers and the order they run tests in, Redis databases per xdist
worker, cheap Argon2 except where marked."""

import os

import pytest
from django.conf import settings

from pins import hashing
from tests.conftest import (
    CHEAP_PIN_ARGON2,
    PRODUCTION_ARGON2,
    redis_urls_for_worker,
    run_order,
    slow_seconds,
    transactional,
    workers_for,
)

CI = {"CACHE_URL": "redis://127.0.0.1:6379/1", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}


def test_the_first_worker_keeps_the_configured_redis_databases():
    assert redis_urls_for_worker(CI, 0) == CI


def test_each_further_worker_gets_redis_databases_no_other_worker_uses():
    seen = set()
    for index in range(4):
        moved = redis_urls_for_worker(CI, index)
        numbers = {url.rsplit("/", 1)[1] for url in moved.values()}
        assert len(numbers) == 2 and not numbers & seen
        seen |= numbers
    assert redis_urls_for_worker(CI, 1) == {
        "CACHE_URL": "redis://127.0.0.1:6379/3",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/2",
    }


def test_urls_that_are_not_redis_stay_as_they_are():
    embedded = {"CACHE_URL": "", "CELERY_BROKER_URL": ""}
    assert redis_urls_for_worker(embedded, 3) == embedded
    assert redis_urls_for_worker({"CACHE_URL": "redis://h:1/5", "CELERY_BROKER_URL": ""}, 1) == {
        "CACHE_URL": "redis://h:1/6",
        "CELERY_BROKER_URL": "",
    }


def test_a_worker_beyond_redis_databases_stops_the_run_with_a_message():
    with pytest.raises(pytest.UsageError, match="fewer workers"):
        redis_urls_for_worker(CI, 8)


def test_this_process_uses_the_redis_databases_its_environment_names():
    """Settings and environment agree, so servers and workers a test starts use this worker's databases too."""
    if not os.environ.get("CACHE_URL", "").startswith("redis"):
        pytest.skip("needs CACHE_URL=redis://...")
    assert settings.CACHES["default"]["LOCATION"] == os.environ["CACHE_URL"]
    assert os.environ["CELERY_BROKER_URL"] == settings.CELERY_BROKER_URL


def test_pins_hash_with_cheap_parameters_in_the_suite():
    assert settings.PIN_ARGON2 == CHEAP_PIN_ARGON2
    assert "m=8,t=1,p=1" in hashing.pin_hash_create("ABCDEFGHJKLM")


@pytest.mark.production_argon2
def test_a_test_marked_production_argon2_hashes_with_the_real_parameters():
    assert PRODUCTION_ARGON2["PIN_ARGON2"] == settings.PIN_ARGON2
    params = PRODUCTION_ARGON2["PIN_ARGON2"]
    assert f"m={params['memory_cost']},t={params['time_cost']},p={params['parallelism']}" in hashing.pin_hash_create(
        "ABCD"
    )


class Collected:
    """What the ordering reads of a collected test: its marks and its fixtures."""

    cls = None

    def __init__(self, name: str, *marks: pytest.MarkDecorator, fixturenames: tuple[str, ...] = ()):
        self.name = name
        self.marks = {mark.mark.name: mark.mark for mark in marks}
        self.fixturenames = fixturenames

    def get_closest_marker(self, name: str):
        return self.marks.get(name)


def test_one_worker_more_than_cores_up_to_four_and_none_on_one_core():
    assert [workers_for(cores) for cores in (1, 2, 3, 8)] == [0, 3, 4, 4]


def test_the_longest_tests_start_first_each_before_a_short_one_and_transactional_ones_stay_last():
    items = [
        Collected("plain"),
        Collected("in a transaction", pytest.mark.django_db),
        Collected("transactional", pytest.mark.django_db(transaction=True)),
        Collected("live server", fixturenames=("page", "live_server")),
        Collected("in a transaction, 10 s", pytest.mark.django_db, pytest.mark.slow(10)),
        Collected("no database, 30 s", pytest.mark.slow(30)),
        Collected("transactional, 60 s", pytest.mark.django_db(transaction=True), pytest.mark.slow(60)),
        Collected("transactional, 5 s", pytest.mark.django_db(transaction=True), pytest.mark.slow(5)),
        Collected("transactional, 70 s", pytest.mark.django_db(transaction=True), pytest.mark.slow(70)),
    ]
    assert [item.name for item in run_order(items)] == [
        "no database, 30 s",
        "plain",
        "in a transaction, 10 s",
        "in a transaction",
        "transactional, 70 s",
        "transactional",
        "transactional, 60 s",
        "live server",
        "transactional, 5 s",
    ]


def test_this_runs_order_keeps_transactional_tests_last_and_starts_the_longest_first(request):
    """The order of this very run (each xdist worker collects and sorts the whole suite the same way)."""
    items = request.session.items
    parts = [transactional(item) for item in items]
    assert parts == sorted(parts), "a transactional test before one that runs in a transaction"
    for part in (False, True):
        seconds = [slow_seconds(item) for item in items if transactional(item) is part]
        marked = [value for value in seconds if value]
        assert marked == sorted(marked, reverse=True)
        if marked:
            assert seconds[0] == marked[0]


def test_every_test_client_serves_the_static_files_with_the_listing_made_once():
    """WhiteNoise lists the static files once per process (tests/conftest.py); each new client still serves
    them, the app's and the project's, byte for byte."""
    from django.test import Client

    from portal.settings import BASE_DIR

    for _client in range(2):
        client = Client()
        for url, path in (
            ("/static/campaigns/progress.js", BASE_DIR / "campaigns" / "static" / "campaigns" / "progress.js"),
            (
                "/static/vendor/tus-js-client/tus.min.js",
                BASE_DIR / "static" / "vendor" / "tus-js-client" / "tus.min.js",
            ),
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            assert b"".join(response.streaming_content) == path.read_bytes()
