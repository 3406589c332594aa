"""Each bench of bench/ runs small: it must do the work it times, or its own checks fail it (and this test).

A bench prints a rate only after checking every unit it timed (verdicts written and disarmed copies stored,
logins that reached the dashboard, letters rendered with their PIN, uploads stored whole); these tests run each
at a tiny size so that a change that makes a bench time nothing fails the suite. Speed is never asserted.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.bench.conftest import postgres_url
from tests.clamav import daemon as clamav

pytestmark = pytest.mark.bench


@pytest.mark.slow(11)
@pytest.mark.skipif(not clamav.available(), reason="clamd is not installed (Debian package clamav-daemon)")
def test_scan_bench_times_real_checks_of_complete_uploads(run_bench):
    output = run_bench("scan.py", "--tiny", "--rounds", "1", database="any")
    assert "checked: 3 uploads clean, each a disarmed copy stored in the timed window" in output
    assert "ratio (goal >= 0.8):" in output and "ratio (CPU):" in output and "load average" in output


@pytest.mark.slow(4)
def test_pin_verify_bench_times_attempts_that_answer_as_their_case_must(run_bench):
    output = run_bench("pin_verify.py", "--rounds", "1", "--per-round", "2", database="any")
    assert "checked: 24 attempts answered as their case must, one Argon2 verification each" in output
    assert "load average before:" in output and "cpu ratio" in output


@pytest.mark.slow(16)
def test_letters_bench_times_letters_that_carry_their_pin(run_bench):
    output = run_bench(
        "letters.py",
        "--letters", "2", "--rounds", "1", "--group", "2",
        "--campaign-memory-sizes", "2", "--memory-sizes", "1", "--size-letters", "4", "--size-sample", "2",
        database="sqlite",
    )  # fmt: skip
    assert "speed-up (goal 5x)" in output and "speed-up (goal 1.3x)" in output
    assert "checked: pdftotext finds each of the 4 PINs and references on its own page of the merged PDF" in output
    assert "stored per letter" in output and "merged PDF per letter" in output
    assert "batch of   1:" in output


@pytest.mark.slow(60)
@pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/lib/postgresql/15/bin/initdb").exists() or not shutil.which("redis-server"),
    reason="bench/campaign.py starts its own PostgreSQL cluster (as root, through runuser) and redis-server",
)
def test_campaign_bench_counts_each_letter_once_all_its_cpu_and_the_first_batch(run_bench):
    output = run_bench("campaign.py", "--members", "24", "--batch-size", "10", "--timeout", "240", timeout=420)
    assert "-> PASS" in output
    assert "first print batch formed when 10 letters were rendered (CAMPAIGN_BATCH_SIZE 10)" in output
    assert "ratio per CPU second, worker only" in output and "ratio per CPU second, all CPU" in output
    assert "bytes stored per letter:" in output and "load average" in output


@pytest.mark.slow(10)
def test_upload_bench_times_uploads_stored_whole(run_bench):
    output = run_bench(
        "upload.py",
        "--size-mb", "1", "--chunk-mb", "1", "--rounds", "1",
        "--small-mb", "1", "--memory-mb", "2", "--page-cache-mb", "1",
        database="any",
    )  # fmt: skip
    assert (
        "checked: 1 uploads complete with the file's SHA-256, every sink and copy wrote all bytes; "
        "each stored upload decrypts to the bytes sent"
    ) in output
    assert "upload/ceiling" in output and "load average" in output
    # On the database production uses when the run has one (a throw-away copy, dropped afterwards).
    assert ("loopback, PostgreSQL," if postgres_url() else "loopback, SQLite,") in output


@pytest.mark.slow(9)
def test_login_http_bench_times_logins_that_reach_the_dashboard(run_bench):
    output = run_bench(
        "login_http.py",
        "--logins", "4", "--members", "2", "--threads", "2", "--requests", "4", "--connections", "2",
        "--argon2-seconds", "0.2",
        database="postgres",
    )  # fmt: skip
    assert "checked: 4 logins, each reached the dashboard; every latency request answered 200" in output
    assert "ratio raw Argon2 CPU : server CPU per login (all, goal 0.85) =" in output
    assert "ratio logins/s : raw Argon2/s (2 processes) =" in output and "load average before the login run:" in output


@pytest.mark.slow(10)
def test_enumeration_bench_times_refused_logins_of_every_case(run_bench):
    output = run_bench("enumeration.py", "--samples", "2", database="postgres")
    assert "2 interleaved samples per case over HTTP" in output
    assert "same status, headers and body for all four: PASS" in output


@pytest.mark.slow(13)
def test_bruteforce_bench_checks_its_guesses_were_evaluated_throttled_and_locked(run_bench):
    output = run_bench(
        "bruteforce.py",
        "--modes", "plain", "--members", "1", "--addresses", "2", "--guesses", "24", "--spray", "0",
        "--rate", "200", "--threads", "2",
        database="any",
    )  # fmt: skip
    assert "PASS every attacked PIN locked (1/1)" in output
    assert "PASS all modes" in output


def test_render_bench_times_every_page_rendered_for_the_viewer(run_bench):
    output = run_bench("render.py", "--pages", "2", "--rounds", "1")
    assert "checked: 2 pages rendered, each an image and its text; the photo one page" in output
    assert "ratio ours / baseline (CPU):" in output and "peak RSS of the rendering child:" in output


@pytest.mark.browser
def test_photo_upload_bench_counts_the_bytes_of_photos_that_arrived_whole_both_ways(run_bench):
    output = run_bench("photo_upload.py", "--photos", "1", "--size", "600x800", database="any")
    assert (
        "checked: 1 + 1 photos arrived complete (offset = length), the originals byte for byte, "
        "the resized as JPEGs of at most 2000 px"
    ) in output
    assert "ratio with / without" in output and "load average" in output
