"""Where an alert group goes and what it is about: pure functions on labels.

* ``route_channel`` — the policy's ``alerts.routes``, first match wins, else ``default_channel``.
  A group is routed on its *common* labels (the ones every alert shares), so one group → one channel.
* ``job_candidates`` — the (namespace, job name) pairs a group's labels may point at; the service
  keeps the first that is a record in the queue store (a bot-managed job).
* ``merge`` — a webhook folded into the kept group state; ``None`` when nothing changed, so a
  duplicate (same fingerprint, same state) causes no Slack call.
* ``silence_matchers`` — Alertmanager matchers that cover exactly the group's alerts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.domain.alerts.payload import AlertEntry, GroupState, Webhook
from bot.domain.alerts.promql import regex_quote
from bot.domain.policy.config import Alerts

# Labels that say *what* is affected; a silence matches on these plus alertname, never on severity
# or summary-like labels, so a silence does not outlive the thing it was about.
IDENTIFYING = ("alertname", "namespace", "job_name", "pod", "container", "node", "Hostname", "hostname",
               "gpu", "UUID", "instance")
# Pods of a Job are named <job>-<suffix> (and <job>-<index>-<suffix> for indexed Jobs).
_POD_SUFFIX = re.compile(r"-[a-z0-9]{1,10}$")


def route_channel(alerts: Alerts, labels: Mapping[str, str]) -> str | None:
    for route in alerts.routes:
        if all(labels.get(k) == v for k, v in route.match.items()):
            return route.channel
    return alerts.default_channel


def common_labels(state: GroupState) -> dict[str, str]:
    entries = list(state.alerts.values())
    if not entries:
        return {}
    first = entries[0].labels
    return {k: v for k, v in first.items() if all(e.labels.get(k) == v for e in entries[1:])}


def job_candidates(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(namespace, name) pairs to look up, most specific first; empty without a namespace."""
    namespace = labels.get("namespace") or labels.get("exported_namespace")
    if not namespace:
        return []
    out: list[tuple[str, str]] = []
    if labels.get("job_name"):
        out.append((namespace, labels["job_name"]))
    pod = labels.get("pod") or labels.get("exported_pod")
    while pod and _POD_SUFFIX.search(pod):
        pod = _POD_SUFFIX.sub("", pod)
        out.append((namespace, pod))
    return out


def _entry(alert: object) -> AlertEntry:
    return AlertEntry.model_validate(alert, from_attributes=True)


def merge(state: GroupState, hook: Webhook) -> GroupState | None:
    """The state with the webhook's alerts applied, or None when it shows nothing new."""
    alerts = dict(state.alerts)
    changed = False
    for alert in hook.alerts:
        new = _entry(alert)
        old = alerts.get(new.fingerprint)
        if old is not None and (old.status, old.annotations) == (new.status, new.annotations):
            continue  # a repeat: Alertmanager resends a group every repeat_interval
        if old is not None and new.status == "firing" and old.status == "resolved" and new.startsAt <= old.startsAt:
            continue  # a late copy of an older notification must not re-open it; a re-fire starts later
        alerts[new.fingerprint] = new
        changed = True
    if not changed:
        return None
    return state.model_copy(update={"alerts": alerts, "version": state.version + 1})


def silence_matchers(state: GroupState) -> list[dict[str, object]]:
    """Equality matchers for identifying labels all alerts share, a regex alternation where they differ."""
    entries = state.firing or list(state.alerts.values())
    matchers: list[dict[str, object]] = []
    for name in IDENTIFYING:
        values = sorted({e.labels[name] for e in entries if name in e.labels})
        if not values or any(name not in e.labels for e in entries):
            continue
        if len(values) == 1:
            matchers.append({"name": name, "value": values[0], "isRegex": False, "isEqual": True})
        else:
            pattern = "|".join(regex_quote(v) for v in values)
            matchers.append({"name": name, "value": pattern, "isRegex": True, "isEqual": True})
    return matchers
