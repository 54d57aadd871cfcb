"""The first whole path: signed Slack requests → bolt → services → Redis + simulated cluster → Slack.

Real redis-server, the real kubernetes client over HTTP against the simulated API server, the
real slack_sdk client against the fake Web API. Waits are on conditions with deadlines.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.render import replies as rendering
from bot.sim.cluster import NodeSpec
from bot.sim.slack import requests as sr
from tests.support.botstack import H100, SECRET, BotStack, bot_stack, button_value, text_of
from tests.support.waiting import wait
from tests.support.watching import launch, wait_card

OWNER = "URES0001"  # research, may use high priority
OTHER = "URES0002"  # research
ADMIN = "UADMIN01"
IMAGE = "ghcr.io/acme/train:1.4"


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url) as s:
        yield s


def k8s_jobs(stack: BotStack, namespace: str = "ml-research") -> list[dict[str, Any]]:
    from kubernetes import client

    api = client.BatchV1Api(stack.sim.api_client())
    resp = api.list_namespaced_job(namespace, label_selector="app.kubernetes.io/managed-by=gpu-chatops",
                                   _preload_content=False)
    items: list[dict[str, Any]] = json.loads(resp.data)["items"]
    return items


def test_happy_path_preview_click_job_card(stack: BotStack) -> None:
    preview = stack.ask(f"launch llama-ft --image {IMAGE} --gpus 8 --gpu-type h100 --time 12h "
                        "-- torchrun --nproc_per_node=8 train.py", OWNER)
    shown = text_of(preview)
    assert preview["response_type"] == "ephemeral"
    for expected in ("llama-ft", IMAGE, "8 × h100", "ml-research", "12h", "torchrun --nproc_per_node=8 train.py"):
        assert expected in shown, expected
    assert not k8s_jobs(stack), "a preview creates nothing"
    token = button_value(preview, rendering.LAUNCH_CONFIRM)
    status, rid = stack.click(rendering.LAUNCH_CONFIRM, token, OWNER)
    assert status == 200
    assert "Submitted `llama-ft`" in stack.answer(rid)["text"]
    jobs = wait(lambda: k8s_jobs(stack), what="the Job in the API server")
    job = jobs[0]
    labels = job["metadata"]["labels"]
    assert job["metadata"]["name"] == "llama-ft"
    assert labels["app.kubernetes.io/managed-by"] == "gpu-chatops" and labels["chatops.io/owner"] == OWNER
    assert job["spec"]["activeDeadlineSeconds"] == 12 * 3600
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] in (8, "8")
    card = stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and "llama-ft" in json.dumps(c.args))
    assert card.args["channel"] == "CRESEARCH1"
    stack.slack.wait_for(lambda c: c.method == "chat.update" and "Running" in json.dumps(c.args))


@pytest.mark.parametrize(
    ("text", "why", "fix"),
    [
        ("launch x --image docker.io/evil/miner:1 --gpus 1 --gpu-type h100", "ghcr.io/acme/*",
         "/gpu launch x --image ghcr.io/acme/miner:1"),
        (f"launch big --image {IMAGE} --gpus 40 --gpu-type h100", "limit of 32", "--gpus 16"),
        (f"launch x --image {IMAGE} --gpus 1 --gpu-type k80", "Known types: a100, h100, l40s, t4", "--gpu-type"),
        (f"launch x --image {IMAGE} --gpus 1 --gpu-type h100 --time 30d", "maximum of 7d", "--time 7d"),
        (f"launch x --image {IMAGE} --gpus 1 --gpu-type a100", "No node in the cluster has a100", "--gpu-type"),
        (f"launch x --image {IMAGE} --gpus 16 --gpu-type h100", "8 GPUs at most", "--nodes 2"),
        (f"launch x --image {IMAGE} --gpus 1 --gpu-type h100 --priority high", "may not use priority",
         "--priority normal"),
        (f"launch x --image {IMAGE} --gpuz 1", "--gpus", "/gpu launch"),
        (f"launch x --image {IMAGE} --gpus 1 --gpu-type h100 --time 12", "12", "--time 12h"),
    ],
)
def test_refusals_say_why_and_the_command_that_works(stack: BotStack, text: str, why: str, fix: str) -> None:
    user = OTHER  # not allowed high priority
    answer = stack.ask(text, user)
    shown = text_of(answer)
    assert answer["response_type"] == "ephemeral"
    assert why in shown, shown
    assert fix in shown, shown
    assert not k8s_jobs(stack)


def test_the_suggested_fix_passes(stack: BotStack) -> None:
    answer = stack.ask(f"launch big --image {IMAGE} --gpus 40 --gpu-type h100", OWNER)
    fix = text_of(answer).split("Try: `")[1].split("`")[0]
    again = stack.ask(fix.removeprefix("/gpu "), OWNER)
    button_value(again, rendering.LAUNCH_CONFIRM)  # the corrected command previews cleanly


def test_stranger_is_refused(stack: BotStack) -> None:
    shown = text_of(stack.ask(f"launch x --image {IMAGE} --gpus 1 --gpu-type h100", "UNOBODY1"))
    assert "not a member of any team" in shown


def test_retry_and_double_click_make_one_job(stack: BotStack) -> None:
    text = f"launch once --image {IMAGE} --gpus 1 --gpu-type h100"
    _, rid1 = stack.slash(text, OWNER, trigger_id="trig-1")
    _, rid2 = stack.slash(text, OWNER, trigger_id="trig-1")  # Slack's retry: same trigger
    token = button_value(stack.answer(rid1), rendering.LAUNCH_CONFIRM)
    assert button_value(stack.answer(rid2), rendering.LAUNCH_CONFIRM) == token
    results: list[int] = []
    clicks = [threading.Thread(target=lambda: results.append(
        stack.click(rendering.LAUNCH_CONFIRM, token, OWNER)[0])) for _ in range(3)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    assert results == [200, 200, 200]
    wait(lambda: k8s_jobs(stack), what="the Job")
    wait_card(stack, "once", "Running")
    assert [j["metadata"]["name"] for j in k8s_jobs(stack)] == ["once"]
    # top-level posts only: the card's thread gets its own replies ("Started on ...")
    posts = [c for c in stack.slack.calls("chat.postMessage")
             if "once" in json.dumps(c.args) and not c.args.get("thread_ts")]
    assert len(posts) == 1, "one card per job"


def test_click_by_someone_else_is_refused(stack: BotStack) -> None:
    preview = stack.ask(f"launch mine --image {IMAGE} --gpus 1 --gpu-type h100", OWNER)
    token = button_value(preview, rendering.LAUNCH_CONFIRM)
    _, rid = stack.click(rendering.LAUNCH_CONFIRM, token, OTHER)
    assert "Only <@URES0001>" in text_of(stack.answer(rid))
    assert not k8s_jobs(stack)


def test_stop_rights(stack: BotStack) -> None:
    name = launch(stack, f"launch stopme --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=1h")
    wait(lambda: k8s_jobs(stack), what="the Job")
    refused = text_of(stack.ask(f"stop {name}", OTHER))
    assert "only its owner or an admin" in refused
    assert k8s_jobs(stack), "a refused stop deletes nothing"
    # an admin stopping someone else's job confirms first
    confirm = stack.ask(f"stop {name}", ADMIN)
    token = button_value(confirm, rendering.STOP_CONFIRM)
    _, rid = stack.click(rendering.STOP_CONFIRM, token, ADMIN)
    assert "Stopped `stopme`" in stack.answer(rid)["text"]
    wait(lambda: not k8s_jobs(stack), what="the Job deleted")
    stack.slack.wait_for(lambda c: c.method == "chat.update" and "Stopped" in json.dumps(c.args))


def test_owner_stops_own_job_directly(stack: BotStack) -> None:
    name = launch(stack, f"launch mine2 --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=1h")
    wait(lambda: k8s_jobs(stack), what="the Job")
    assert "Stopped `mine2`" in stack.ask(f"stop {name}", OWNER)["text"]
    wait(lambda: not k8s_jobs(stack), what="the Job deleted")


def test_queued_job_starts_when_another_finishes(redis_url: str) -> None:
    with bot_stack(redis_url, nodes=[NodeSpec("h100-0", 8, H100)], speed=60) as stack:
        launch(stack, f"launch first --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3m")
        wait(lambda: k8s_jobs(stack), what="first Job")
        launch(stack, f"launch second --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=1m")
        queued = stack.slack.wait_for(lambda c: "second" in json.dumps(c.args) and "Queued" in json.dumps(c.args))
        assert "needs 8" in json.dumps(queued.args) or "position 1" in json.dumps(queued.args)
        assert [j["metadata"]["name"] for j in k8s_jobs(stack)] == ["first"]
        # first runs 3 simulated minutes = 3 s; then second is admitted
        wait(lambda: "second" in [j["metadata"]["name"] for j in k8s_jobs(stack)], timeout=30,
             what="second admitted after first finished")
        stack.slack.wait_for(lambda c: c.method == "chat.update" and "first" in json.dumps(c.args)
                             and "Succeeded" in json.dumps(c.args), timeout=10)


def test_status_list_help(stack: BotStack) -> None:
    launch(stack, f"launch seen --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=1h")
    assert "seen" in text_of(stack.ask("status seen", OWNER))
    assert "seen" in text_of(stack.ask("status", OWNER))  # the asker's latest job
    assert "seen" in text_of(stack.ask("list", OWNER))
    assert "seen" in text_of(stack.ask("list --team", OTHER))
    assert "seen" not in text_of(stack.ask("list", OTHER))
    assert "no job `nope`" in text_of(stack.ask("status nope", OWNER))
    assert "launch" in text_of(stack.ask("help", OWNER))
    assert "--tail" in text_of(stack.ask("help logs", OWNER))


def test_bad_signature_and_stale_timestamp_are_401(stack: BotStack) -> None:
    body = sr.slash_command_body("list", OWNER, response_url=stack.slack.response_url("x"))
    status, _, _ = sr.send(stack.events_url, body, "wrong-secret")
    assert status == 401
    status, _, _ = sr.send(stack.events_url, body, SECRET, timestamp=int(time.time()) - 600)
    assert status == 401
    status, _, _ = sr.send(stack.events_url, body, SECRET)
    assert status == 200


def test_health_routes(stack: BotStack) -> None:
    import urllib.request

    base = f"http://127.0.0.1:{stack.bot.http.port}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
        assert b"chatops_requests" in r.read()


def test_every_listener_failure_is_answered_by_the_one_error_handler(stack: BotStack) -> None:
    """A malformed click and a refused click both get an actionable answer, through handlers.errors."""
    from bot.domain import messages as msg

    _, rid = stack.click(rendering.LAUNCH_CONFIRM, "x" * 3000, "URES0001")  # a value no button of ours has
    assert msg.bad_payload() in text_of(stack.answer(rid))
    _, rid = stack.click(rendering.LAUNCH_CONFIRM, "no-such-preview-token", "URES0001")
    answer = stack.answer(rid)
    assert msg.preview_expired() in text_of(answer)
    assert answer.get("replace_original") is True  # the dead preview is replaced, not left clickable


def test_launch_into_a_missing_namespace_is_refused_at_preview(redis_url: str) -> None:
    """A cluster without the team's namespace: the dry run's 404 becomes "ask an admin", nothing is queued."""
    from kubernetes import client

    with bot_stack(redis_url, namespaces=["ml-vision"]) as stack:
        refused = stack.ask(f"launch nons --image {IMAGE} --gpus 1 --gpu-type h100", OWNER)
        shown = text_of(refused)
        assert refused["response_type"] == "ephemeral"
        assert "ask an admin to create namespace `ml-research`" in shown, shown
        assert rendering.LAUNCH_CONFIRM not in shown, "no [Launch] button for a job that cannot be created"
        assert stack.bot.runtime.store.get("ml-research", "nons") is None
        # the other team's namespace exists: its launches preview as usual
        assert rendering.LAUNCH_CONFIRM in text_of(
            stack.ask(f"launch vis --image {IMAGE} --gpus 1 --gpu-type h100", "UVIS0001"))
        # once an admin creates it, the same command previews
        client.CoreV1Api(stack.sim.api_client()).create_namespace({"metadata": {"name": "ml-research"}})
        preview = stack.ask(f"launch nons --image {IMAGE} --gpus 1 --gpu-type h100", OWNER)
        assert rendering.LAUNCH_CONFIRM in text_of(preview)
