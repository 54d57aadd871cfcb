"""Slack user groups as team members, through the real ``chatops run`` stack: the fake Slack Web API
serves ``usergroups.*``, membership events refresh the teams, a person in two teams' groups is refused
with both named, and an unreachable Slack keeps the last known membership (and says so in the logs)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.botstack import BotStack, bot_stack, text_of
from tests.support.org_requests import GROUPS, org_policy, setup_groups, subteam_event
from tests.support.waiting import wait

LAUNCH = "launch --image ghcr.io/acme/train:1.4 --gpus 1 --gpu-type h100 --time 1h"


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[BotStack]:
    with bot_stack(redis_url, policy_file=org_policy(tmp_path), slack_setup=setup_groups) as s:
        yield s


def _preview(stack: BotStack, user: str) -> str:
    return text_of(stack.ask(LAUNCH, user, channel="CRESEARCH1"))


def test_a_group_member_is_in_the_team_and_the_group_calls_are_slacks(stack: BotStack) -> None:
    shown = _preview(stack, "URES0004")  # in research only through @ml-research
    assert "ml-research" in shown and "Launch" in shown
    assert "ml-vision" in _preview(stack, "UVIS0002")  # @vision
    listed = stack.slack.calls("usergroups.list")
    assert listed and listed[0].args.get("include_disabled") in ("false", "0", False, None)
    asked = {c.args.get("usergroup") for c in stack.slack.calls("usergroups.users.list")}
    assert asked == set(GROUPS)  # one read per group the policy names


def test_membership_changes_follow_slacks_events(stack: BotStack) -> None:
    assert "not a member of any team" in _preview(stack, "UNEW0001")
    handle, users = GROUPS["S0VISION"]
    stack.slack.set_usergroup("S0VISION", handle, [*users, "UNEW0001"])
    assert subteam_event(stack, "subteam_members_changed", "S0VISION", ["UNEW0001"]) == 200
    wait(lambda: "ml-vision" in _preview(stack, "UNEW0001"), what="the new member in team vision")
    stack.slack.set_usergroup("S0VISION", handle, users)  # and out again, on a group update
    assert subteam_event(stack, "subteam_updated", "S0VISION") == 200
    wait(lambda: "not a member of any team" in _preview(stack, "UNEW0001"), what="the member gone again")


def test_a_person_in_two_teams_groups_is_refused_with_both_teams_named(stack: BotStack) -> None:
    handle, users = GROUPS["S0VISION"]
    stack.slack.set_usergroup("S0VISION", handle, [*users, "URES0005"])  # also in @ml-research
    subteam_event(stack, "subteam_members_changed", "S0VISION", ["URES0005"])
    shown = wait(lambda: next((t for t in [_preview(stack, "URES0005")] if "two teams" in t), None),
                 what="the refusal")
    assert "`research`" in shown and "`vision`" in shown
    assert "ml-research" in _preview(stack, "URES0004")  # the others are unaffected


def test_slack_unreachable_keeps_the_last_known_membership_and_logs_it(
        stack: BotStack, caplog: pytest.LogCaptureFixture) -> None:
    assert "ml-research" in _preview(stack, "URES0004")
    stack.slack.set_usergroup("S0RESEARCH", "ml-research", [])  # Slack would say: nobody
    stack.slack.fail_next(1000, status=500, method="usergroups.list")
    with caplog.at_level(logging.WARNING):
        subteam_event(stack, "subteam_members_changed", "S0RESEARCH")
        wait(lambda: any("could not be read" in r.getMessage() for r in caplog.records), what="the log line")
    line = next(r.getMessage() for r in caplog.records if "could not be read" in r.getMessage())
    assert "last known membership" in line
    assert "ml-research" in _preview(stack, "URES0004")  # still in the team
