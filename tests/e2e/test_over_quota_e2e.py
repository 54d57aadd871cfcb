"""Over quota made visible, through Slack: two 16-GPU jobs against a quota of 16 both run (the second
on borrowed, idle GPUs); the card, `/gpu status`, `/gpu list` and App Home say so; the job behind them
is told the truth; a job whose start waits on a preemption says "starting: making room"."""

from __future__ import annotations

import json

from bot.sim.cluster import NodeSpec
from bot.sim.slack import requests as sr
from tests.support.botstack import H100, L40S, SECRET, bot_stack, text_of
from tests.support.waiting import wait
from tests.support.watching import IMAGE, OWNER, launch, wait_card, wait_reply

LONG = "--env SIM_DURATION=3h --time 6h"


def test_borrowed_gpus_are_shown_everywhere_and_the_queue_reason_is_true(redis_url: str) -> None:
    nodes = [NodeSpec(f"h100-{i}", 8, H100) for i in range(4)] + [NodeSpec("l40s-0", 4, L40S)]
    with bot_stack(redis_url, nodes=nodes) as bs:
        store = bs.bot.runtime.store
        inside = launch(bs, f"launch inside --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 {LONG}")
        wait_card(bs, inside, "Running")
        borrow = launch(bs, f"launch borrower --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 {LONG}")
        wait_card(bs, borrow, "Running", "over quota · preemptible")
        assert "over quota" not in wait_card(bs, inside, "Running")

        assert "over quota · preemptible" in text_of(bs.ask(f"status {borrow}", OWNER))
        assert "over quota" not in text_of(bs.ask(f"status {inside}", OWNER))
        listed = text_of(bs.ask("list", OWNER))
        line = next(x for x in listed.split("\\n") if "`borrower`" in x)
        assert "over quota · preemptible" in line
        assert "over quota" not in next(x for x in listed.split("\\n") if "`inside`" in x)

        behind = launch(bs, f"launch behind --image {IMAGE} --gpus 8 --gpu-type h100 {LONG}")
        wait(lambda: (r := store.get("ml-research", behind)) is not None and r.reason
             and "borrowed" in r.reason, what="the reason of the job behind")
        reason = store.get("ml-research", behind).reason or ""  # type: ignore[union-attr]
        assert "16/16 GPUs in use" not in reason
        assert "holds 32 GPUs (16/16 within quota, 16 borrowed)" in reason
        assert reason in text_of(bs.ask("queue", OWNER))

        body = sr.event_body({"type": "app_home_opened", "user": OWNER, "channel": "DHOME", "tab": "home",
                              "event_ts": "1.0"})
        assert sr.send(bs.events_url, body, SECRET)[0] == 200
        home = bs.slack.wait_for(lambda c: c.method == "views.publish" and c.args.get("user_id") == OWNER)
        shown = json.dumps(home.args["view"], ensure_ascii=False)
        assert "32 in use (16 within quota, 16 borrowed)" in shown and "32 of 16" not in shown

        # vision's job is within its quota: the borrowed GPUs are taken back for it
        owed = launch(bs, f"launch owed --image {IMAGE} --gpus 8 --gpu-type h100 {LONG}", user="UVIS0001")
        wait_card(bs, owed, "Running")
        # The card shows the newest state when Slack's turn comes (updates are coalesced), so the short
        # queued moment while the borrower leaves may never reach Slack; when it does, it must say so
        # truthfully: "making room", never a clock hours away.
        seen = [json.dumps(c.args.get("blocks"), ensure_ascii=False) for c in bs.cards(owed)
                if (c.args.get("blocks") or [{}])[0].get("text", {}).get("text") == owed]
        queued = [s for s in seen if "*Queued*" in s]
        assert all("starting: making room" in s for s in queued), queued
        assert not any("expected to start" in s or "not within the next days" in s for s in queued), queued
        assert store.get("ml-research", borrow).preemptions == 1  # type: ignore[union-attr]
        wait_reply(bs, borrow, "preempted to make room for `owed`")  # told in the card's thread
