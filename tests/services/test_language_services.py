"""Language through the command service on in-memory ports: follow-ups of one's last launch in any
channel, refusals over others' jobs, and a "Try:" that passes for the person who reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.domain.policy.config import load_policy
from bot.domain.scheduling.model import NodeFacts
from bot.services.commands import CommandService, Request
from tests.services.fakes import fake_runtime

POLICY = load_policy(Path(__file__).resolve().parents[1] / "chatops.example.yaml")
NODES = [NodeFacts("h100-0", "h100", 8), NodeFacts("h100-1", "h100", 8), NodeFacts("l40s-0", "l40s", 4)]
IMAGE = "ghcr.io/acme/train:1.4"


def _service() -> CommandService:
    rt, _, _ = fake_runtime(POLICY, nodes=NODES)
    return CommandService(rt)


def _shown(svc: CommandService, text: str, user: str, channel: str = "CRESEARCH1", key: str = "") -> str:
    reply = svc.handle(Request(user, channel, text, key or f"req-{hash((text, user, channel))}"))
    return reply.text + json.dumps(reply.blocks_json())


def _launched(svc: CommandService, text: str, user: str) -> None:
    reply = svc.handle(Request(user, "CRESEARCH1", text, "first"))
    blocks: list[dict[str, Any]] = reply.blocks_json()
    token = next(el["value"] for b in blocks for el in b.get("elements", []) or [] if el.get("style") == "primary")
    svc.launches.confirm(token, user)


def test_same_as_before_starts_from_the_last_launch_in_any_channel() -> None:
    svc = _service()
    _launched(svc, f"/gpu launch llama-ft-3 --image {IMAGE} --gpus 8 --gpu-type h100 --time 6h", "URES0001")
    # another channel, no thread: the conversation has no context, the job record does
    shown = _shown(svc, "same as before but with 4 GPUs", "URES0001", channel="CVISION01")
    assert "Based on `llama-ft-3`" in shown
    assert IMAGE in shown and "h100" in shown and "4" in shown
    again = _shown(svc, "launch that again", "URES0001", channel="CVISION01")
    assert "Based on `llama-ft-3`" in again
    # someone else has no launch on record: nothing to base it on, no copy of another's job
    nothing = _shown(svc, "same as before but with 4 GPUs", "URES0002")
    assert "Based on" not in nothing and "no earlier launch for me to repeat" in nothing
    assert "no earlier launch" not in _shown(svc, "what is the weather like", "URES0002")


def test_a_non_admin_selector_over_others_jobs_is_refused_with_what_works() -> None:
    svc = _service()
    _launched(svc, f"/gpu launch victim --image {IMAGE} --gpus 1 --gpu-type h100", "URES0001")
    shown = _shown(svc, "stop everyone's jobs", "URES0002")
    assert "Only admins stop other people's jobs" in shown and "`victim`" in shown
    assert "Try: `/gpu list`" in shown
    team = _shown(svc, "cancel all of my team's jobs", "URES0002")
    assert "Only admins stop other people's jobs" in team


def test_a_grammar_fix_is_followed_through_the_policy_for_its_reader() -> None:
    svc = _service()
    # URES0002 may not use high: the grammar's guess (`urgent` → high) would be refused next
    shown = _shown(svc, f"/gpu launch x --image {IMAGE} --gpus 1 --gpu-type h100 --priority hihg", "URES0002")
    assert "--priority normal" in shown and "--priority high" not in shown
    # URES0001 may: the grammar's fix is shown as it was
    mine = _shown(svc, f"/gpu launch x --image {IMAGE} --gpus 1 --gpu-type h100 --priority hihg", "URES0001")
    assert "--priority high" in mine


def test_status_with_no_jobs_suggests_something_that_works() -> None:
    shown = _shown(_service(), "/gpu status", "URES0003")
    assert "Try: `/gpu help launch`" in shown


def test_a_known_job_of_the_asker_wins_over_a_guess() -> None:
    svc = _service()
    _launched(svc, f"/gpu launch bert --image {IMAGE} --gpus 1 --gpu-type h100", "URES0001")
    _launched(svc, f"/gpu launch gpt-2x --image {IMAGE} --gpus 1 --gpu-type h100", "URES0001")  # the latest
    # "bert" alone is no name by its shape; it is the asker's job, so it is the one meant
    assert _shown(svc, "how is bert coming along?", "URES0001").startswith("bert: ")
    stopped = _shown(svc, "please kill bert", "URES0001")
    assert "bert" in stopped and "gpt-2x" not in stopped and "Which job" not in stopped
