"""Locust users for the load run: members (login, autosave, tus upload, transmit) and call-centre staff (reissue)."""

import base64
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django_otp.oath import totp
from locust import HttpUser, between, events, task
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.upload import write_pdf

# run.py passes the seed file and the journal through the environment. The journal (JSON lines) records every
# request and what the server acknowledged to each member, for the consistency check afterwards.
SEED = json.loads(Path(os.environ["LOAD_SEED"]).read_text())
JOURNAL = Path(os.environ["LOAD_JOURNAL"]).open("a", buffering=1)  # noqa: SIM115 (open for the whole run)
CHUNK = int(os.environ.get("LOAD_CHUNK", str(256 * 1024)))
MEMBERS = list(SEED["members"])
REISSUE = list(SEED["reissue_members"])
STAFF = list(SEED["staff"])
CLASSES = set(os.environ.get("LOAD_CLASSES", "MemberUser StaffUser").split())

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_INPUT = re.compile(r'name="version" value="(\d+)"')
REASON_OPTION = re.compile(r'<option value="(\d+)"')


def journal(**entry) -> None:
    JOURNAL.write(json.dumps({"t": time.time(), **entry}) + "\n")


@events.request.add_listener
def record(request_type, name, response_time, response_length, response=None, exception=None, **_kwargs):
    status = getattr(response, "status_code", 0) or 0
    entry = {"kind": "request", "name": name, "status": status, "ms": round(response_time, 1)}
    if status >= 500 or (exception is not None and not status):
        body = (getattr(response, "text", "") or "")[:20000]
        entry.update(
            error=type(exception).__name__ if exception is not None and not status else "",
            try_again='id="try-again"' in body,
            json_message=body.lstrip().startswith("{") and '"message"' in body,
            traceback="Traceback" in body or 'File "/' in body,
        )
    journal(**entry)


def stop_when_done(user: HttpUser) -> None:
    """The run is bounded by the seed: once every member and every reissue has been used, it ends."""
    if (not MEMBERS or "MemberUser" not in CLASSES) and (not REISSUE or "StaffUser" not in CLASSES):
        user.environment.runner.quit()
    raise StopUser()


def pdf_bytes(size: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        write_pdf(path, size)
        return path.read_bytes()


def first(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


class MemberUser(HttpUser):
    """One member after another from the seed: log in, autosave a few times, upload, mostly transmit."""

    wait_time = between(0.3, 1.5)
    weight = 1

    @task
    def one_member(self) -> None:
        if not MEMBERS:
            stop_when_done(self)
        member = MEMBERS.pop()
        self.client.cookies.clear()
        if not self.login(member):
            return
        csrf, version, reasons = self.draft_page()
        if csrf is None:
            return
        reason = random.choice(reasons) if reasons else ""
        for _ in range(random.randint(2, 5)):
            version = self.autosave(member, csrf, version, reason)
            self.wait()
        for _ in range(random.randint(1, 2)):
            self.upload(member, csrf, random.randint(100 * 1024, 1200 * 1024))
            self.wait()
        version = self.autosave(member, csrf, version, reason)
        if random.random() < 0.8:
            self.transmit(member, csrf)
        else:
            self.client.post("/abmelden/", data={"csrfmiddlewaretoken": csrf}, name="logout", allow_redirects=False)

    def login(self, member: dict) -> bool:
        for _attempt in range(20):
            page = self.client.get("/anmelden/", name="login page")
            token = first(CSRF_INPUT, page.text)
            if token:
                response = self.client.post(
                    "/anmelden/",
                    data={"csrfmiddlewaretoken": token, "kvnr": member["kvnr"], "pin": member["pin"]},
                    name="login",
                    allow_redirects=False,
                )
                if response.status_code == 302:
                    return True
                if response.status_code < 500:
                    journal(kind="login_refused", kvnr=member["kvnr"], status=response.status_code)
                    return False
            time.sleep(1)
        journal(kind="login_gave_up", kvnr=member["kvnr"])
        return False

    def draft_page(self) -> tuple[str | None, int, list[str]]:
        for _attempt in range(20):
            page = self.client.get("/antrag/", name="draft page")
            csrf, version = first(CSRF_META, page.text), first(VERSION_INPUT, page.text)
            if page.status_code == 200 and csrf and version:
                return csrf, int(version), REASON_OPTION.findall(page.text)
            time.sleep(1)
        return None, 0, []

    def autosave(self, member: dict, csrf: str, version: int, reason: str) -> int:
        message = f"Nachricht {uuid.uuid4().hex} " + " ".join(["Text"] * random.randint(5, 200))
        journal(kind="autosave_sent", kvnr=member["kvnr"], message=message)
        response = self.client.post(
            "/antrag/speichern/",
            data={"version": version, "reason": reason, "message": message, "phone": "0221 1234567"},
            headers={"X-CSRFToken": csrf, "Accept": "application/json"},  # as static/js/autosave.js sends
            name="autosave",
        )
        if response.status_code == 200:
            version = response.json()["version"]
            journal(kind="autosave_ack", kvnr=member["kvnr"], version=version, message=message)
        elif response.status_code == 409:
            version = response.json().get("version", version)
        return version

    def upload(self, member: dict, csrf: str, size: int) -> None:
        data = pdf_bytes(size)
        size = len(data)
        headers = {"X-CSRFToken": csrf, "Tus-Resumable": "1.0.0"}
        name = base64.b64encode(f"beleg-{uuid.uuid4().hex[:8]}.pdf".encode()).decode()
        created = self.client.post(
            "/antrag/uploads/",
            headers={**headers, "Upload-Length": str(size), "Upload-Metadata": f"filename {name}"},
            name="tus create",
        )
        if created.status_code != 201:
            journal(kind="upload_refused", kvnr=member["kvnr"], status=created.status_code)
            return
        location = created.headers["Location"]
        offset = 0
        while offset < size:
            response = self.client.patch(
                location,
                data=data[offset : offset + CHUNK],
                headers={**headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
                name="tus patch",
            )
            if response.status_code != 204 or int(response.headers["Upload-Offset"]) <= offset:
                journal(kind="upload_refused", kvnr=member["kvnr"], status=response.status_code)
                # The draft must not keep a half upload that would block transmission: cancel it (tus DELETE).
                self.client.delete(location, headers=headers, name="tus delete")
                return
            offset = int(response.headers["Upload-Offset"])
        journal(kind="upload_done", kvnr=member["kvnr"], sha256=hashlib.sha256(data).hexdigest())

    def transmit(self, member: dict, csrf: str) -> None:
        # As the draft page does: wait until the worker has checked every file (a pending one blocks transmission).
        for _ in range(60):
            states = self.client.get("/antrag/dateien/status/", name="file states").json()["files"]
            if not any(state["checking"] for state in states):
                break
            time.sleep(0.5)
        self.client.get("/antrag/pruefen/", name="review")
        response = self.client.post(
            "/antrag/uebermitteln/",
            data={"csrfmiddlewaretoken": csrf, "confirm": "on"},
            name="transmit",
            allow_redirects=False,
        )
        if response.status_code == 302 and "bestaetigung" in response.headers.get("Location", ""):
            journal(kind="transmitted", kvnr=member["kvnr"])
        else:
            journal(kind="transmit_failed", kvnr=member["kvnr"], status=response.status_code)


class StaffUser(HttpUser):
    """A call-centre agent: logs in once with password and TOTP code, then sends new PINs to members."""

    wait_time = between(1.0, 3.0)
    fixed_count = int(os.environ.get("LOAD_STAFF_USERS", "2"))

    def on_start(self) -> None:
        self.account = STAFF.pop()
        self.logged_in = False

    def staff_login(self) -> None:
        page = self.client.get("/admin/login/", name="staff login page")
        token = first(CSRF_INPUT, page.text)
        if not token:
            time.sleep(1)
            return
        # A TOTP code is accepted once: wait for a fresh 30 s step if this device logged in during this one.
        step = int(time.time() // 30)
        if getattr(self, "last_step", None) == step:
            time.sleep(30 - time.time() % 30 + 0.5)
        self.last_step = int(time.time() // 30)
        code = f"{totp(bytes.fromhex(self.account['key'])):06d}"
        response = self.client.post(
            "/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": token,
                "username": self.account["username"],
                "password": self.account["password"],
                "otp_token": code,
                "next": "/admin/",
            },
            name="staff login",
            allow_redirects=False,
        )
        self.logged_in = response.status_code == 302

    @task
    def reissue(self) -> None:
        if not self.logged_in:
            self.staff_login()
            return
        if not REISSUE:
            stop_when_done(self)
        member_id = REISSUE.pop()
        url = f"/admin/members/member/{member_id}/neue-pin/"
        page = self.client.get(url, name="staff reissue page", allow_redirects=False)
        token = first(CSRF_INPUT, page.text)
        if page.status_code == 302:
            self.logged_in = False
        if not token:
            REISSUE.append(member_id)
            return
        journal(kind="reissue_sent", member_id=member_id)
        response = self.client.post(
            url, data={"csrfmiddlewaretoken": token, "purpose": "lost"}, name="staff reissue", allow_redirects=False
        )
        if response.status_code == 302 and "neue-pin" not in response.headers.get("Location", ""):
            journal(kind="reissue_ack", member_id=member_id)
