"""The fake Slack Web API and the signed request builders, checked against the real slack_sdk/bolt."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import BOT_USER_ID, Call, FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url)


def test_url_shape_and_auth_test(fake: FakeSlack, client: WebClient) -> None:
    assert fake.url.startswith("http://127.0.0.1:") and fake.url.endswith("/api/")
    resp = client.auth_test()
    assert resp["user_id"] == BOT_USER_ID and resp["bot_id"] and resp["team_id"]
    (call,) = fake.calls("auth.test")
    assert call.headers["Authorization"] == "Bearer xoxb-test"


def test_post_message_records_and_answers(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    first = client.chat_postMessage(channel="CRESEARCH1", text="hi", blocks=blocks)
    second = client.chat_postMessage(channel="CRESEARCH1", text="again", thread_ts=first["ts"])
    assert first["ok"] and first["channel"] == "CRESEARCH1"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == blocks
    calls = fake.calls("chat.postMessage")
    assert [c.args["text"] for c in calls] == ["hi", "again"]
    assert calls[0].args["blocks"] == blocks and calls[1].args["thread_ts"] == first["ts"]
    assert fake.messages[("CRESEARCH1", first["ts"])]["text"] == "hi"


def test_post_message_to_user_lands_in_dm(client: WebClient) -> None:
    resp = client.chat_postMessage(channel="URES0001", text="psst")
    assert resp["channel"] == "DURES0001"
    assert client.conversations_open(users="URES0001")["channel"]["id"] == "DURES0001"


def test_post_message_without_text_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="CRESEARCH1", text="")
    assert err.value.response["error"] == "no_text"


def test_update_and_delete(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="CRESEARCH1", text="queued")["ts"]
    resp = client.chat_update(channel="CRESEARCH1", ts=ts, text="running")
    assert resp["ok"] and resp["ts"] == ts
    assert fake.messages[("CRESEARCH1", ts)]["text"] == "running"
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="CRESEARCH1", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"
    assert client.chat_delete(channel="CRESEARCH1", ts=ts)["ok"]
    assert ("CRESEARCH1", ts) not in fake.messages


def test_other_methods(fake: FakeSlack, client: WebClient) -> None:
    assert client.chat_postEphemeral(channel="CRESEARCH1", user="URES0001", text="only you")["message_ts"]
    view = {"type": "home", "blocks": []}
    assert client.views_publish(user_id="URES0001", view=view)["view"]["type"] == "home"
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
    assert client.views_open(trigger_id="123.456", view=modal)["view"]["id"].startswith("V")
    fake.users["URES0001"] = {"real_name": "Ada Lovelace"}
    user = client.users_info(user="URES0001")["user"]
    assert user["id"] == "URES0001" and user["real_name"] == "Ada Lovelace"
    assert fake.calls("views.publish")[0].args["view"] == view


def test_files_upload_v2(fake: FakeSlack, client: WebClient) -> None:
    resp = client.files_upload_v2(
        channel="CRESEARCH1", content="line 1\nline 2\n", filename="logs.txt", title="bert-ft logs",
        initial_comment="last 100 lines",
    )
    assert resp["ok"] and resp["file"]["title"] == "bert-ft logs"
    assert fake.uploads[resp["file"]["id"]] == b"line 1\nline 2\n"
    complete = fake.calls("files.completeUploadExternal")[0].args
    assert complete["channel_id"] == "CRESEARCH1" and complete["initial_comment"] == "last 100 lines"


def test_unknown_method_and_missing_token(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("nope.never")
    assert err.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=fake.url).chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "not_authed"


def test_429_retry_after_is_honoured_by_webclient(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=fake.url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    fake.fail_next(1, status=429, retry_after=1, method="chat.postMessage")
    result: dict[str, Any] = {}
    t = threading.Thread(target=lambda: result.update(
        resp=client.chat_postMessage(channel="CRESEARCH1", text="hi")))
    t.start()
    ok = fake.wait_for(lambda c: c.method == "chat.postMessage" and c.status == 200, timeout=5)
    t.join(timeout=5)
    limited = fake.calls("chat.postMessage", status=429)
    assert len(limited) == 1 and result["resp"]["ok"]
    # WebClient sleeps Retry-After plus up to 1 s of jitter.
    assert 1.0 <= ok.time - limited[0].time < 3.0


def test_429_without_retry_handler_surfaces_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next(1, status=429, retry_after=7, channel="CVISION01")
    assert client.chat_postMessage(channel="CRESEARCH1", text="unaffected")["ok"]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="CVISION01", text="limited")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])
    assert client.chat_postMessage(channel="CVISION01", text="later")["ok"]  # only k=1 failed


def test_5xx_injection(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next(2, status=500, method="chat.update")
    ts = client.chat_postMessage(channel="CRESEARCH1", text="x")["ts"]
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_update(channel="CRESEARCH1", ts=ts, text="y")
        assert err.value.response.status_code == 500
    assert client.chat_update(channel="CRESEARCH1", ts=ts, text="y")["ok"]
    assert [c.status for c in fake.calls("chat.update")] == [500, 500, 200]


def test_response_url_is_served_and_recorded(fake: FakeSlack) -> None:
    resp = WebhookClient(fake.response_url("abc")).send(text="done", replace_original=True)
    assert resp.status_code == 200
    call = fake.wait_for("response_url")
    assert call.args["text"] == "done" and call.args["replace_original"] is True and call.args["_id"] == "abc"


def test_wait_for_times_out_with_a_summary(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"auth\.test:200"):
        fake.wait_for("chat.postMessage", timeout=0.2)
    assert time.monotonic() - start < 2


def test_concurrent_posts_get_unique_ts_and_clear(fake: FakeSlack, client: WebClient) -> None:
    threads = [threading.Thread(target=client.chat_postMessage, kwargs={"channel": "C1", "text": str(i)})
               for i in range(8)]
    for th in threads:
        th.start()
    calls = fake.wait_until(lambda cs: len(cs) == 8)
    for th in threads:
        th.join()
    assert len({ts for (_, ts) in fake.messages}) == 8 and all(isinstance(c, Call) for c in calls)
    fake.clear()
    assert fake.calls() == [] and fake.messages == {}


# --- signed inbound requests --------------------------------------------------------------------


def test_signatures_verify_with_slack_sdk() -> None:
    verifier = SignatureVerifier(SECRET)
    bodies = [
        sr.slash_command_body("launch --gpus 8", "URES0001"),
        sr.block_actions_body("launch_confirm", "key-1", "URES0001", message_ts="1700000000.000100"),
        sr.event_body(sr.app_mention_event("<@UBOT0001> status", "URES0001")),
        sr.url_verification_body("abc"),
    ]
    for body in bodies:
        headers = sr.sign(body, SECRET)
        assert verifier.is_valid_request(body, headers)
        assert not verifier.is_valid_request(body + b"x", headers)
        assert not SignatureVerifier("wrong").is_valid_request(body, headers)
    old = sr.sign(bodies[0], SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(bodies[0], old)  # replay window is 5 minutes


def test_request_shapes() -> None:
    slash = {k: v[0] for k, v in parse_qs(sr.slash_command_body("gpus", "URES0001").decode()).items()}
    assert slash["command"] == "/gpu" and slash["text"] == "gpus" and slash["user_id"] == "URES0001"
    assert slash["channel_id"] == "CRESEARCH1" and slash["team_id"] == "T0001" and slash["trigger_id"]
    body = sr.block_actions_body("stop", "bert-ft", "URES0002", "CVISION01", message_ts="1.2")
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "URES0002"
    assert payload["container"] == {"type": "message", "message_ts": "1.2", "channel_id": "CVISION01",
                                    "is_ephemeral": False}
    assert payload["actions"][0]["action_id"] == "stop" and payload["actions"][0]["value"] == "bert-ft"
    eph = json.loads(parse_qs(sr.block_actions_body("x", "v", "U1").decode())["payload"][0])
    assert eph["container"]["is_ephemeral"] is True and "message" not in eph
    event = json.loads(sr.event_body({"type": "app_mention"}, event_id="Ev1"))
    assert event["type"] == "event_callback" and event["event_id"] == "Ev1" and event["event_time"]
    headers = sr.sign(b"{}", SECRET, retry_num=1)
    assert headers["X-Slack-Retry-Num"] == "1" and headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert headers["Content-Type"] == "application/json"


def test_post_returns_errors_without_raising(fake: FakeSlack) -> None:
    status, _headers, body = sr.post(fake.base + "/nowhere", b"x", {"Content-Type": "text/plain"})
    assert status == 404 and json.loads(body)["error"] == "not_found"


def bolt_request(body: bytes, headers: dict[str, str]) -> BoltRequest:
    hdrs: dict[str, str | Sequence[str]] = dict(headers)
    return BoltRequest(body=body.decode(), headers=hdrs)


def test_bolt_routes_built_requests_and_responds_via_fake(fake: FakeSlack, client: WebClient) -> None:
    # End to end through bolt: proves the bodies parse as Slack's and respond() reaches the fake.
    app = App(signing_secret=SECRET, client=client)
    seen: list[str] = []

    @app.command("/gpu")
    def on_gpu(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(text=f"you said {command['text']}")

    @app.action("launch_confirm")
    def on_click(ack: Ack, body: dict[str, Any]) -> None:
        seen.append(body["actions"][0]["value"])  # before ack: dispatch returns once acked
        ack()

    slash = sr.slash_command_body("queue", "URES0001", response_url=fake.response_url("cmd"))
    resp = app.dispatch(bolt_request(slash, sr.sign(slash, SECRET)))
    assert resp.status == 200
    assert fake.wait_for("response_url").args["text"] == "you said queue"

    click = sr.block_actions_body("launch_confirm", "key-1", "URES0001", message_ts="1.2")
    assert app.dispatch(bolt_request(click, sr.sign(click, SECRET))).status == 200
    assert app.dispatch(bolt_request(click, sr.sign(click, "not-the-secret"))).status == 401
    assert seen == ["key-1"]


def test_auth_test_refuses_tokens_as_slack_does(fake: FakeSlack) -> None:
    assert WebClient(token="xoxb-test", base_url=fake.url).auth_test()["user_id"] == BOT_USER_ID
    fake.revoked.add("xoxb-old")
    for token, error in (("xoxb-old", "token_revoked"), ("hunter2", "invalid_auth")):
        with pytest.raises(SlackApiError) as err:
            WebClient(token=token, base_url=fake.url).auth_test()
        assert err.value.response["error"] == error
def test_metadata_is_kept_and_found_again_through_history(fake: FakeSlack, client: WebClient) -> None:
    meta = {"event_type": "job_card", "event_payload": {"job": "ml/a"}}
    first = client.chat_postMessage(channel="C1", text="card a", metadata=meta)
    client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])
    client.chat_postMessage(channel="C2", text="elsewhere", metadata=meta)
    second = client.chat_postMessage(channel="C1", text="plain")
    plain = client.conversations_history(channel="C1")
    assert [m["ts"] for m in plain["messages"]] == [second["ts"], first["ts"]]  # newest first, no replies
    assert all("metadata" not in m for m in plain["messages"])  # only with include_all_metadata, as on Slack
    page = client.conversations_history(channel="C1", include_all_metadata=True, limit=1)
    assert page["has_more"] and [m["ts"] for m in page["messages"]] == [second["ts"]]
    rest = client.conversations_history(channel="C1", include_all_metadata=True,
                                        cursor=page["response_metadata"]["next_cursor"])
    assert not rest["has_more"] and rest["messages"][0]["metadata"] == meta
    assert client.conversations_history(channel="C1", oldest=first["ts"])["messages"][0]["ts"] == second["ts"]


def test_throttle_answers_every_nth_chat_call_429(fake: FakeSlack, client: WebClient) -> None:
    fake.throttle(3)
    outcomes = []
    for i in range(6):
        try:
            client.chat_postMessage(channel="C1", text=f"m{i}")
            outcomes.append(200)
        except SlackApiError as err:
            outcomes.append(err.response.status_code)
            assert err.response.headers.get("Retry-After") == "1"
    assert outcomes == [200, 200, 429, 200, 200, 429]
    client.auth_test()  # other methods are not throttled
    fake.throttle(0)
    assert client.chat_postMessage(channel="C1", text="free")["ok"]


def test_what_the_bot_shows_reaches_the_sink_and_metadata_is_kept_as_slack_does() -> None:
    from bot.sim.slack.web_api import Posted

    shown: list[Posted] = []
    with FakeSlack(shown.append) as surface:
        web = WebClient(token="xoxb-console", base_url=surface.url)
        meta = {"event_type": "job_card", "event_payload": {"job": "ml/b", "idem": "k1"}}
        card = web.chat_postMessage(channel="C1", text="card b", metadata=meta)
        web.chat_postMessage(channel="C1", text="in thread", thread_ts=card["ts"])
        found = web.conversations_history(channel="C1", include_all_metadata=True)["messages"]
        assert [m["ts"] for m in found] == [card["ts"]] and found[0]["metadata"] == meta
        assert "metadata" not in web.conversations_history(channel="C1")["messages"][0]
        assert [p.kind for p in shown] == ["post", "post"]
