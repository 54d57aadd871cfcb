"""Block Kit → terminal text (bot.console.render): pure, so tested on dicts and on the bot's own replies."""

from __future__ import annotations

from typing import Any

from bot.console.render import Confirm, confirm_question, mrkdwn, render_blocks
from bot.domain.jobs import JobRecord, RecordState
from bot.render import replies as rendering


def test_mentions_channels_dates_links_and_entities() -> None:
    text = "<@U123> in <#C1> and <#C2|general> at <!date^1700000000^{date_short}|2023-11-14 22:13 UTC> <!here>"
    assert mrkdwn(text) == "@U123 in #C1 and #general at 2023-11-14 22:13 UTC @here"
    assert mrkdwn("<@U9|ana> see <https://x.io/a|the docs> or <https://y.io>") == (
        "@ana see the docs (https://x.io/a) or https://y.io"
    )
    assert mrkdwn("a &lt;b&gt; &amp; c") == "a <b> & c"


def test_bold_kept_and_emoji_shown() -> None:
    assert mrkdwn("*Running* :white_check_mark: :no_such_emoji:") == "*Running* ✅ :no_such_emoji:"


def test_code_fences_kept_on_their_own_lines_and_untouched_inside() -> None:
    out = mrkdwn("*Logs*\n```step 1 <@U1> :x:\nstep 2```after")
    assert out == "*Logs*\n```\nstep 1 <@U1> :x:\nstep 2\n```\nafter"


def test_section_fields_header_context() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "llama-ft"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": ":large_green_circle: *Running*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Image*\n`ghcr.io/acme/train:1.4`"},
                                       {"type": "mrkdwn", "text": "*Owner*\n<@URES0001>"}]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ml-research/llama-ft"},
                                         {"type": "plain_text", "text": "submitted today"}]},
    ]
    out = render_blocks(blocks)
    assert out.title == "llama-ft"
    assert out.buttons == []
    assert out.text.splitlines() == [
        "=== llama-ft ===",
        "🟢 *Running*",
        "  Image: `ghcr.io/acme/train:1.4`",
        "  Owner: @URES0001",
        "-" * 40,
        "  ml-research/llama-ft · submitted today",
    ]


def test_buttons_are_numbered_from_the_given_number_with_confirm() -> None:
    blocks = [{"type": "actions", "block_id": "b1", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Logs"}, "action_id": "job_logs", "value": "ns/j"},
        {"type": "button", "text": {"type": "plain_text", "text": "Stop"}, "action_id": "job_stop", "value": "ns/j",
         "style": "danger", "confirm": {"title": {"type": "plain_text", "text": "Stop this job?"},
                                        "text": {"type": "mrkdwn", "text": "Stop j?"},
                                        "confirm": {"type": "plain_text", "text": "Stop"},
                                        "deny": {"type": "plain_text", "text": "Keep it"}}},
    ]}]
    out = render_blocks(blocks, first_number=7)
    assert out.text == "  [7] Logs   [8] Stop (asks first)"
    logs, stop = out.buttons
    assert (logs.number, logs.action_id, logs.value, logs.block_id, logs.confirm) == (7, "job_logs", "ns/j", "b1", None)
    assert stop.number == 8 and stop.style == "danger"
    assert stop.confirm == Confirm("Stop this job?", "Stop j?", "Stop", "Keep it")
    assert confirm_question(stop.confirm) == "Stop this job? Stop j? [y = Stop / n = Keep it] "


def test_section_accessory_button_and_fallback_text() -> None:
    blocks = [{"type": "section", "block_id": "s", "text": {"type": "mrkdwn", "text": "Alert"},
               "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Silence"},
                             "action_id": "silence", "value": "a1"}}]
    out = render_blocks(blocks)
    assert out.text == "Alert\n  [1] Silence"
    assert out.buttons[0].action_id == "silence"
    assert render_blocks([], "plain <@U1>").text == "plain @U1"


def test_rich_text_is_flattened() -> None:
    blocks = [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "hi "}, {"type": "user", "user_id": "U1"}, {"type": "emoji", "name": "tada"}]}]}]
    assert render_blocks(blocks).text == "hi @U1🎉"


def _record(state: RecordState) -> JobRecord:
    return JobRecord(
        namespace="ml-research", name="llama-ft", owner="URES0001", team="research", channel="CRESEARCH1",
        image="ghcr.io/acme/train:1.4", gpus=8, gpu_type="h100", nodes=1,
        time_limit_s=3600, priority="normal", command=["torchrun", "train.py"], state=state,
        submitted_at=1700000000.0, idempotency_key="k",
    )


def test_the_bots_own_preview_and_card_render() -> None:
    preview = rendering.preview(_record("queued"), "tok")
    out = render_blocks(preview.blocks_json(), preview.text, first_number=1)
    assert "llama-ft" in out.text and "ghcr.io/acme/train:1.4" in out.text
    assert [(b.number, b.label, b.action_id, b.value) for b in out.buttons] == [
        (1, "Launch", rendering.LAUNCH_CONFIRM, "tok"), (2, "Cancel", rendering.LAUNCH_CANCEL, "tok")]
    card = rendering.job_card(_record("running"), now=1700000100.0)
    shown = render_blocks(card.blocks_json(), card.text, first_number=3)
    assert shown.title == "llama-ft"
    assert "<!date" not in shown.text and "<@" not in shown.text
    stop = next(b for b in shown.buttons if b.action_id == rendering.JOB_STOP)
    assert stop.confirm is None  # the bot checks the clicker first, then asks in an ephemeral reply
