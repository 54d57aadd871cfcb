"""One visibility rule: a job `/gpu list --all` shows is one `/gpu status` shows (every team's cards are
for every member); logs stay within the team and the admins, refused with a command that works."""

from __future__ import annotations

from bot.domain.jobs import JobRecord
from bot.domain.policy.judge import Identity, may_read_logs, may_see
from tests.support.botstack import bot_stack, text_of
from tests.support.watching import IMAGE, launch, wait_card


def test_the_rule() -> None:
    vision = JobRecord(name="v", namespace="ml-vision", team="vision", owner="UVIS0001", image="i", gpus=1,
                       gpu_type="h100")
    researcher = Identity("URES0001", "research", "ml-research", False)
    assert may_see(researcher, vision) and not may_read_logs(researcher, vision)
    assert may_read_logs(Identity("UADMIN01", "", "", True), vision)
    assert may_read_logs(Identity("UVIS0001", "vision", "ml-vision", False), vision)


def test_list_all_and_status_agree(redis_url: str) -> None:
    with bot_stack(redis_url, speed=600.0) as bs:
        name = launch(bs, f"launch theirs --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=2m",
                      user="UVIS0001")
        wait_card(bs, name, "Succeeded")
        listed = text_of(bs.ask("list --all", "URES0001"))
        assert f"`{name}`" in listed
        status = text_of(bs.ask(f"status {name}", "URES0001"))
        assert "no job" not in status and "Succeeded" in status and "team vision" in status
        logs = text_of(bs.ask(f"logs {name}", "URES0001"))
        assert "are for team vision" in logs and f"/gpu status {name}" in logs
        assert "team vision" not in text_of(bs.ask(f"logs {name}", "UVIS0001"))
