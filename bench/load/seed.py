"""Seed the load run's database: members with real PINs, members for staff reissues, call-centre users with TOTP."""

import argparse
import json
import os
import secrets
from pathlib import Path

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, required=True, help="members who log in, save, upload, transmit")
    parser.add_argument("--reissue-members", type=int, required=True, help="members staff send new PINs to")
    parser.add_argument("--staff", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    django.setup()
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.services import Actor
    from pins.services import pin_issue
    from staff.constants import Role
    from staff.services import staff_create
    from tests.factories import MemberFactory

    system = Actor.system()
    members = []
    for _ in range(args.members):
        member = MemberFactory()
        issued = pin_issue(member=member, purpose="Lasttest", actor=system)
        members.append({"id": member.pk, "kvnr": member.kvnr, "pin": issued.plaintext})
    reissue = [MemberFactory().pk for _ in range(args.reissue_members)]
    staff = []
    for number in range(args.staff):
        username, password = f"load-agent-{number}", secrets.token_urlsafe(18)
        staff_create(username=username, role=Role.CALL_CENTRE, password=password, email="", actor=system)
        device = TOTPDevice.objects.get(user__username=username)
        staff.append({"username": username, "password": password, "key": device.key})
    args.out.write_text(json.dumps({"members": members, "reissue_members": reissue, "staff": staff}))
    os.chmod(args.out, 0o600)


if __name__ == "__main__":
    main()
