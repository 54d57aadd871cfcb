"""Slack requests of the org features, signed as Slack sends them: user group events, the deny modal's
``view_submission``, and the org policy for the tests (the example with its TTL or caps changed)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

from bot.sim.slack import requests as sr
from tests.support.botstack import SECRET, BotStack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "org-policy.yaml"
_ids = itertools.count(1)

# The example's groups, as the fake Slack serves them.
GROUPS = {
    "S0RESEARCH": ("ml-research", ["URES0004", "URES0005"]),
    "S0VISION": ("vision", ["UVIS0001", "UVIS0002"]),
    "S0LEADS": ("gpu-leads", ["ULEAD001", "ULEAD002"]),
    "S0ADMINS": ("gpu-admins", ["UADMIN02"]),
}


def org_policy(tmp: Path, **changes: Any) -> Path:
    """The example org policy with top-level keys changed, written to ``tmp``."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(changes)
    path = tmp / "org-policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def subteam_event(stack: BotStack, kind: str, group_id: str, added: list[str] | None = None) -> int:
    """``subteam_members_changed`` / ``subteam_updated`` as the Events API delivers it."""
    if kind == "subteam_members_changed":
        event: dict[str, Any] = {"type": kind, "subteam_id": group_id, "team_id": sr.TEAM_ID,
                                 "date_previous_update": int(time.time()) - 60, "date_update": int(time.time()),
                                 "added_users": added or [], "added_users_count": str(len(added or [])),
                                 "removed_users": [], "removed_users_count": "0"}
    else:
        handle, users = GROUPS.get(group_id, ("group", []))
        event = {"type": kind, "subteam": {"id": group_id, "team_id": sr.TEAM_ID, "is_usergroup": True,
                                           "handle": handle, "users": users, "user_count": len(users)}}
    status, _, _ = sr.send(stack.events_url, sr.event_body(event), SECRET)
    return status


def view_submission(stack: BotStack, user: str, callback_id: str, private_metadata: str,
                    values: dict[str, dict[str, dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
    """A modal submitted: (HTTP status, the JSON the bot answered with — {} for a plain ack)."""
    payload = {
        "type": "view_submission", "team": {"id": sr.TEAM_ID, "domain": sr.TEAM_DOMAIN},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": sr.TEAM_ID},
        "api_app_id": sr.API_APP_ID, "token": sr.VERIFICATION_TOKEN, "trigger_id": f"1337.{next(_ids)}.abc",
        "view": {"id": f"V{next(_ids):08d}", "team_id": sr.TEAM_ID, "type": "modal", "callback_id": callback_id,
                 "private_metadata": private_metadata, "state": {"values": values}, "hash": "1.abc",
                 "title": {"type": "plain_text", "text": "Deny"}, "blocks": []},
        "response_urls": [], "is_enterprise_install": False,
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    status, _, raw = sr.send(stack.events_url, body, SECRET)
    return status, (json.loads(raw) if raw.strip() else {})


def setup_groups(slack: Any) -> None:
    for gid, (handle, users) in GROUPS.items():
        slack.set_usergroup(gid, handle, users)
