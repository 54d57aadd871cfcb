"""One Slack message per alert group, rebuilt from the kept state each time it is sent.

Firing alerts first (severity, summary, pods/nodes/GPUs, runbook), then resolved ones; the silence
(who, until when) and the buttons. A resolved group keeps its list but loses its buttons.
"""

from __future__ import annotations

import time

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject, ContextBlock, SectionBlock
from slack_sdk.models.blocks import MarkdownTextObject as Md

from bot.domain import messages as msg
from bot.domain.alerts.payload import AlertEntry, GroupState
from bot.domain.alerts.routing import common_labels
from bot.domain.alerts.summary import node_of, summarise
from bot.render.replies import MAX_SECTION, Reply

ALERT_SILENCE_1H = "alert_silence_1h"
ALERT_SILENCE_4H = "alert_silence_4h"
ALERT_EXPIRE = "alert_expire_silence"
ALERT_STOP_JOB = "alert_stop_job"
SILENCE_HOURS = {ALERT_SILENCE_1H: 1, ALERT_SILENCE_4H: 4}

MAX_SHOWN = 10  # alerts listed one by one; the rest are counted (Block Kit: ≤ 50 blocks, 3000 chars)
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _where(labels: dict[str, str]) -> str:
    parts = []
    if "pod" in labels:
        parts.append(msg.alert_pod(labels.get("namespace", ""), labels["pod"]))
    node = node_of(labels)
    if node:
        parts.append(msg.alert_node(node))
    gpu = labels.get("gpu") or labels.get("UUID")
    if gpu:
        parts.append(msg.alert_gpu(gpu, labels.get("modelName")))
    return " · ".join(parts)


def alert_line(a: AlertEntry) -> str:
    severity = a.labels.get("severity", "none")
    summary = a.annotations.get("summary") or a.annotations.get("description") or a.labels.get("alertname", "?")
    runbook = a.annotations.get("runbook_url", "")
    return msg.alert_line(a.status == "firing", severity, summary, _where(a.labels), runbook)


def _order(a: AlertEntry) -> tuple[int, int, str]:
    return (a.status != "firing", _SEVERITY_ORDER.get(a.labels.get("severity", ""), 3), a.fingerprint)


def render_group(state: GroupState, now: float | None = None) -> Reply:
    now = time.time() if now is None else now
    labels = common_labels(state)
    name = labels.get("alertname") or msg.alert_mixed_name()
    title = msg.alert_title(state.resolved, name, len(state.firing), len(state.alerts))
    entries = sorted(state.alerts.values(), key=_order)
    lines = [alert_line(a) for a in entries[:MAX_SHOWN]]
    blocks: list[Block] = [SectionBlock(text=Md(text=f"*{title}*"))]
    text = title
    if len(entries) > MAX_SHOWN:  # a storm: one line of counts first, then the worst few, then "and N more"
        lines.append(msg.alert_more(len(entries) - MAX_SHOWN))
        text = storm_line(state)
        blocks.append(SectionBlock(text=Md(text=text[:MAX_SECTION])))
    blocks.append(SectionBlock(text=Md(text="\n".join(lines)[:MAX_SECTION])))
    notes = []
    if state.job_key:
        notes.append(msg.alert_about_job(state.job_key))
    if state.silence is not None and state.silence.until > now:
        notes.append(msg.alert_silenced(state.silence.by, state.silence.until))
    if notes:
        blocks.append(ContextBlock(elements=[Md(text=n[:MAX_SECTION]) for n in notes]))
    if not state.resolved:
        blocks.append(ActionsBlock(elements=_buttons(state, now)))
    return Reply(text=text, blocks=blocks)


def storm_line(state: GroupState) -> str:
    s = summarise(state)
    counted = s.firing or s.resolved
    other = counted - sum(n for _, n in s.by_name)
    return msg.alert_storm(s.firing, s.resolved, s.by_name, other, s.top_nodes, s.nodes)


def _buttons(state: GroupState, now: float) -> list[ButtonElement]:
    buttons = []
    if state.silence is not None and state.silence.until > now:
        buttons.append(ButtonElement(text=msg.alert_button_expire(), action_id=ALERT_EXPIRE, value=state.gid))
    else:
        buttons += [
            ButtonElement(text=msg.alert_button_silence(1), action_id=ALERT_SILENCE_1H, value=state.gid),
            ButtonElement(text=msg.alert_button_silence(4), action_id=ALERT_SILENCE_4H, value=state.gid),
        ]
    if state.job_key:
        name = state.job_key.partition("/")[2]
        buttons.append(ButtonElement(
            text=msg.alert_button_stop(), action_id=ALERT_STOP_JOB, value=state.job_key, style="danger",
            confirm=ConfirmObject(title=msg.alert_stop_confirm_title(), text=msg.alert_stop_confirm(name),
                                  confirm=msg.alert_button_stop(), deny=msg.alert_stop_deny()),
        ))
    return buttons


def idle_nudge(job_key: str, minutes: int, util: float) -> Reply:
    name = job_key.partition("/")[2]
    text = msg.idle_nudge(name, minutes, util)
    stop = ButtonElement(
        text=msg.alert_button_stop(), action_id=ALERT_STOP_JOB, value=job_key, style="danger",
        confirm=ConfirmObject(title=msg.alert_stop_confirm_title(), text=msg.alert_stop_confirm(name),
                              confirm=msg.alert_button_stop(), deny=msg.alert_stop_deny()),
    )
    return Reply(text=text, blocks=[SectionBlock(text=Md(text=text)), ActionsBlock(elements=[stop])])
