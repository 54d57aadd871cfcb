"""One `/gpu launch`, from the command service to the Kubernetes create: its text is scanned (cleaned)
once and parsed once. The click and the dispatcher work from the typed action the preview stored."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from bot.domain.language import parsing, scanner, sentences, slash
from bot.domain.policy.config import load_policy
from bot.domain.scheduling.model import NodeFacts
from bot.render import replies as rendering
from bot.services.commands import CommandService, Request
from bot.services.dispatcher import Dispatcher
from tests.services.fakes import fake_runtime

POLICY = load_policy(Path(__file__).resolve().parents[1] / "chatops.example.yaml")
NODES = [NodeFacts("h100-0", "h100", 8)]
WATCHED = {scanner.scan.__code__: "scan", parsing.parse.__code__: "parse", slash.parse_words.__code__: "grammar",
           sentences.read_sentence.__code__: "sentence rules"}


@contextmanager
def counting() -> Iterator[Counter[str]]:
    seen: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in WATCHED:
            seen[WATCHED[frame.f_code]] += 1

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


def test_one_launch_is_cleaned_once_and_parsed_once_up_to_the_kubernetes_create() -> None:
    rt, _, cluster = fake_runtime(POLICY, nodes=NODES)
    service = CommandService(rt)
    text = "launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 2h"
    with counting() as seen:
        reply = service.handle(Request("URES0001", "CRESEARCH1", text, "trig-1"))
        token = next(e["value"] for b in reply.blocks for e in (b.to_dict().get("elements") or [])
                     if e.get("action_id") == rendering.LAUNCH_CONFIRM)
        service.launches.confirm(token, "URES0001")
        Dispatcher(rt).run_pass()
    assert cluster.created, "the dispatcher created the Job"
    assert seen == {"scan": 1, "parse": 1, "grammar": 1}, seen
