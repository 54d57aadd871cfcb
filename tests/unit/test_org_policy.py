"""The org keys of the policy in pure logic: approval rules (first match wins, every condition must hold),
user groups resolved into teams (two teams → refused with both named), the audit grammar."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.actions import Audit, Launch
from bot.domain.errors import ConfigError, ParseError, PolicyError
from bot.domain.language.parsing import parse
from bot.domain.language.slash import to_command
from bot.domain.policy.approvals import approval_needed, may_approve
from bot.domain.policy.config import load_policy, parse_policy
from bot.domain.policy.groups import GroupSnapshot, UserGroup, resolve
from bot.domain.policy.judge import identify

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "org-policy.yaml"
ORG = load_policy(EXAMPLE)
BASE = Launch(name="j", image="ghcr.io/acme/train:1.4", gpus=8, gpu_type="h100", time_limit_s=3600)


def _with(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    data.update(changes)
    return data


def test_rules_first_match_wins_and_each_condition_is_checked() -> None:
    assert approval_needed(ORG, "research", BASE, 0) is None  # 8 GPUs, normal, 1h, within quota
    big = approval_needed(ORG, "research", dataclasses.replace(BASE, gpus=16), 0)
    assert big is not None and big.rule == 0 and big.reasons == ("more than 8 GPUs",)
    urgent = approval_needed(ORG, "research", dataclasses.replace(BASE, gpus=16, priority="high"), 0)
    assert urgent is not None and urgent.rule == 0  # the first rule that matches, not the second
    high = approval_needed(ORG, "research", dataclasses.replace(BASE, priority="high"), 0)
    assert high is not None and high.rule == 1 and high.approvers == ("@gpu-leads",)
    long = approval_needed(ORG, "research", dataclasses.replace(BASE, time_limit_s=3 * 86400), 0)
    assert long is not None and long.reasons == ("longer than 2d",)
    over = approval_needed(ORG, "research", BASE, 12)  # 12 held + 8 > 16
    assert over is not None and over.rule == 3 and "12 of 16 GPUs" in over.reasons[0]


def test_every_key_of_a_when_must_hold_and_template_matches_by_name() -> None:
    policy = parse_policy(_with(approvals=[{"when": {"gpus_over": 4, "template": "pretrain"},
                                            "approvers": ["UADMIN01"]}]))
    assert approval_needed(policy, "research", dataclasses.replace(BASE, gpus=16), 0) is None
    need = approval_needed(policy, "research", dataclasses.replace(BASE, gpus=16, template="pretrain"), 0)
    assert need is not None and need.reasons == ("more than 4 GPUs", "template `pretrain`")


def test_an_approver_is_never_the_requester() -> None:
    need = approval_needed(ORG, "research", dataclasses.replace(BASE, gpus=16), 0)
    assert need is not None
    assert may_approve(need, "URES0001", "UADMIN01") and not may_approve(need, "UADMIN01", "UADMIN01")
    assert not may_approve(need, "URES0001", "URES0002")


@pytest.mark.parametrize(("approvals", "expected"), [
    ([{"when": {}, "approvers": ["UADMIN01"]}], "approvals.0.when: needs at least one condition"),
    ([{"when": {"gpus_over": 8}, "approvers": []}], "approvals.0.approvers"),
    ([{"when": {"template": "nope"}, "approvers": ["UADMIN01"]}], "approvals.0.when.template: 'nope'"),
    ([{"when": {"gpus_ovr": 8}, "approvers": ["UADMIN01"]}], "did you mean 'gpus_over'"),
])
def test_bad_rules_name_the_key(approvals: list[dict[str, Any]], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_policy(_with(approvals=approvals))
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_approval_ttl_defaults_to_8h_and_takes_a_duration() -> None:
    assert load_policy(Path(__file__).resolve().parents[1] / "chatops.example.yaml").approval_ttl == 8 * 3600
    assert parse_policy(_with(approval_ttl="30m")).approval_ttl == 1800


def test_groups_resolve_into_teams_and_two_teams_are_refused_by_name() -> None:
    snap = GroupSnapshot((UserGroup("S0R", "ml-research", ("URES0004", "UBOTH01")),
                          UserGroup("S0V", "vision", ("UVIS0002", "UBOTH01")),
                          UserGroup("S0L", "gpu-leads", ("ULEAD001",))))
    out = resolve(ORG, snap)
    assert identify(out.policy, "URES0004").namespace == "ml-research"
    assert identify(out.policy, "UVIS0002").namespace == "ml-vision"
    assert out.policy.approvals[0].approvers == ["UADMIN01", "ULEAD001"]
    assert out.unknown == ("@gpu-admins",)
    with pytest.raises(PolicyError) as err:
        identify(out.policy, "UBOTH01")
    assert "`research` and `vision`" in err.value.why
    assert ORG.conflicting_teams("UBOTH01") == ()  # the written policy is untouched
    by_id = parse_policy(_with(teams={"research": {"namespace": "ml-research", "members": ["S0R"], "gpu_quota": 8}}))
    assert identify(resolve(by_id, snap).policy, "URES0004").team == "research"


def test_audit_grammar() -> None:
    assert parse("/gpu audit").action == Audit()
    assert parse("/gpu audit --days 30 --user <@URES0002|ann>").action == Audit(days=30, user="URES0002")
    assert to_command(Audit(days=30, user="URES0002")) == "/gpu audit --days 30 --user URES0002"
    with pytest.raises(ParseError) as err:
        parse("/gpu audit --user ann")
    assert isinstance(err.value.fix, str) and parse(err.value.fix).action == Audit(user="U0123ABC")
    with pytest.raises(ParseError) as err:
        parse("/gpu audit --days 0")
    assert err.value.fix is not None


def test_check_config_finds_what_matches_nobody(tmp_path: Path) -> None:
    from bot.domain.errors import ConfigError
    from bot.domain.policy.config import load_policy as load

    base = (Path(__file__).resolve().parents[1] / "chatops.example.yaml").read_text()
    cases = {
        "admins: [bob]": ("admins: [UADMIN01]", "admins: [bob]", "'bob' is not a Slack user ID"),
        "twice": ("members: [UVIS0001]", "members: [UVIS0001, UVIS0001]", "listed twice"),
        "namespace": ("namespace: ml-vision", "namespace: ml-research", "a namespace of its own"),
        "dup key": ("  smoke:", "  llama-finetune:", "appears twice"),
    }
    for name, (old, new, said) in cases.items():
        assert old in base, name
        path = tmp_path / f"{name.replace(' ', '_')}.yaml"
        path.write_text(base.replace(old, new, 1))
        with pytest.raises(ConfigError) as err:
            load(path)
        assert any(said in p for p in err.value.problems), (name, err.value.problems)


def test_kueue_mode_with_another_workload_kind_is_refused_by_the_config_check() -> None:
    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "chatops.example.yaml").read_text())
    data |= {"scheduler": "kueue", "job_kind": "jobset"}
    with pytest.raises(ConfigError) as err:
        parse_policy(data)
    assert any("not supported with scheduler: kueue" in p for p in err.value.problems)
