"""Consistency check after a load run: the database against what the clients were told, and every letter's PDF."""

import argparse
import hashlib
import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import django

PIN_IN_TEXT = re.compile(r"\b([A-HJ-NP-Z2-9]{4})-([A-HJ-NP-Z2-9]{4})-([A-HJ-NP-Z2-9]{4})\b")


def read_journal(path: Path) -> dict:
    """What each member was told: acknowledged autosaves (and any sent after them), finished uploads, etc."""
    acked: dict[str, dict] = {}
    sent_after: dict[str, list[str]] = defaultdict(list)
    uploads: dict[str, set[str]] = defaultdict(set)
    transmitted, reissued = set(), defaultdict(int)
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        kind, kvnr = entry["kind"], entry.get("kvnr")
        if kind == "autosave_sent":
            sent_after[kvnr].append(entry["message"])
        elif kind == "autosave_ack":
            acked[kvnr] = entry
            sent_after[kvnr] = []
        elif kind == "upload_done":
            uploads[kvnr].add(entry["sha256"])
        elif kind == "transmitted":
            transmitted.add(kvnr)
        elif kind == "reissue_ack":
            reissued[entry["member_id"]] += 1
    return {"acked": acked, "sent_after": sent_after, "uploads": uploads, "transmitted": transmitted,
            "reissued": reissued}  # fmt: skip


def check(name: str, problems: list[str], total: int) -> dict:
    detail = f"{total} checked" + (f", {len(problems)} wrong: " + "; ".join(problems[:5]) if problems else "")
    return {"name": name, "ok": not problems, "detail": detail}


def check_autosaves(told: dict) -> dict:
    from uploads.models import Draft, Submission

    problems = []
    for kvnr, ack in told["acked"].items():
        # A save whose answer was lost may have been stored after the acknowledged one: that one may win.
        allowed = {ack["message"], *told["sent_after"][kvnr]}
        submission = Submission.objects.filter(member__kvnr=kvnr).first()
        draft = Draft.objects.filter(member__kvnr=kvnr).first()
        if submission is not None:
            stored, version = submission.message, None
        elif draft is not None:
            stored, version = draft.message, draft.version
        else:
            problems.append(f"{kvnr}: neither draft nor submission")
            continue
        if stored not in allowed:
            problems.append(f"{kvnr}: stored message is not the acknowledged one")
        elif version is not None and version < ack["version"]:
            problems.append(f"{kvnr}: version {version} < acknowledged {ack['version']}")
    return check("every acknowledged autosave is stored", problems, len(told["acked"]))


def check_submissions(told: dict) -> dict:
    from uploads.models import Submission
    from uploads.services import document_open

    problems, files = [], 0
    for kvnr in told["transmitted"]:
        if not Submission.objects.filter(member__kvnr=kvnr).exists():
            problems.append(f"{kvnr}: told transmitted, no submission")
    for submission in Submission.objects.select_related("member").prefetch_related("documents"):
        hashes = set()
        for document in submission.documents.all():
            files += 1
            digest = hashlib.sha256()
            for chunk in document_open(document=document):
                digest.update(chunk)
            if digest.hexdigest() != document.sha256:
                problems.append(f"{submission.reference}: {document.public_id} does not match its SHA-256")
            # What the insurer keeps is the worker's disarmed copy; what the member sent is recorded beside it.
            hashes.add(document.sent_sha256 or document.sha256)
        if hashes != told["uploads"].get(submission.member.kvnr, set()):
            problems.append(f"{submission.reference}: files differ from the ones the client finished uploading")
    total = Submission.objects.count()
    return check(f"every transmitted submission has all its files, SHA-256 equal ({files} files)", problems, total)


def check_pins_after_transmit() -> dict:
    from pins.constants import PinStatus
    from pins.models import LetterPin
    from uploads.models import Submission

    members = set(Submission.objects.values_list("member_id", flat=True))
    active = LetterPin.objects.filter(member_id__in=members, status=PinStatus.ACTIVE)
    problems = [f"member {pk}: active PIN after transmitting" for pk in active.values_list("member_id", flat=True)]
    return check("no member has an active PIN after transmitting", problems, len(members))


def check_letters(told: dict, pins_out: Path) -> list[dict]:
    from letters.constants import LetterStatus
    from letters.models import LetterRequest
    from letters.services import letter_pdf
    from pins.hashing import pin_hash_verify
    from pins.models import LetterPin

    stuck, rendered, found = [], [], []
    letters = LetterRequest.objects.select_related("pin").prefetch_related("history").order_by("pk")
    per_member = defaultdict(int)
    for letter in letters:
        per_member[letter.member_id] += 1
        if letter.status != LetterStatus.RENDERED:
            stuck.append(f"{letter.reference}: {letter.status} after {letter.attempts} attempts")
            continue
        renders = [c for c in letter.history.all() if c.status == LetterStatus.RENDERED]
        if len(renders) != 1 or letter.pin is None:
            rendered.append(f"{letter.reference}: {len(renders)} RENDERED changes, PIN {letter.pin_id}")
            continue
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=letter_pdf(letter=letter), capture_output=True, check=True
        ).stdout.decode()
        pins = {"".join(match) for match in PIN_IN_TEXT.findall(text)}
        if len(pins) != 1 or not pin_hash_verify(letter.pin.pin_hash, next(iter(pins))):
            rendered.append(f"{letter.reference}: the PDF does not hold exactly its PIN")
        found.extend(pins)
    for member_id, count in per_member.items():
        pins = LetterPin.objects.filter(member_id=member_id).count()
        if pins != count:
            rendered.append(f"member {member_id}: {count} letters but {pins} PINs")
    missing = [f"member {m}: {n} reissues acknowledged, {per_member[m]} letters"
               for m, n in told["reissued"].items() if per_member[m] < n]  # fmt: skip
    pins_out.write_text("\n".join(found))
    pins_out.chmod(0o600)
    total = len(letters)
    return [
        check("every acknowledged reissue has its letter request", missing, len(told["reissued"])),
        check("no letter request stuck (all rendered)", stuck, total),
        check("each letter rendered exactly once: one PIN, one RENDERED change, PDF with that PIN", rendered, total),
    ]


def main() -> None:
    """Writes a JSON list of checks ({"name", "ok", "detail"}) and, for the leak scan, the PINs in the letters."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--letter-pins", type=Path, required=True)
    args = parser.parse_args()
    django.setup()
    told = read_journal(args.journal)
    results = [check_autosaves(told), check_submissions(told), check_pins_after_transmit()]
    results += check_letters(told, args.letter_pins)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
