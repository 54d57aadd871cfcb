"""deploy/: every overlay renders and validates; the Dockerfile and the Slack app manifest hold
the properties the README promises."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = sorted(p.parent for p in (DEPLOY / "overlays").glob("*/kustomization.yaml"))
CRDS = {"ServiceMonitor", "PrometheusRule"}  # not in the core OpenAPI schema; checked by shape below


def render(overlay: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is missing: `make test` installs it (system-deps)", pytrace=False)
    out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_overlay_renders_and_validates(overlay: Path) -> None:
    objects = render(overlay)
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "ServiceAccount", "ClusterRole", "RoleBinding", "ConfigMap", "Service",
            "PodDisruptionBudget", "NetworkPolicy", "Namespace"} <= kinds
    version = kubernetes_validate.latest_version()
    for obj in objects:
        if obj["kind"] in CRDS:
            assert obj["apiVersion"].startswith("monitoring.coreos.com/")
            continue
        kubernetes_validate.validate(obj, version, strict=True)


def _deployment(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "gpu-chatops")


def test_http_and_socket_mode_differ_as_documented() -> None:
    http = _deployment(render(DEPLOY / "overlays/http-mode"))["spec"]["template"]["spec"]["containers"][0]
    sock = _deployment(render(DEPLOY / "overlays/socket-mode"))["spec"]["template"]["spec"]["containers"][0]
    assert "--http" in http["args"]
    assert "SLACK_APP_TOKEN" in {e["name"] for e in sock["env"]}
    assert "SLACK_APP_TOKEN" not in {e["name"] for e in http["env"]}


def test_pod_is_locked_down() -> None:
    spec = _deployment(render(DEPLOY / "overlays/socket-mode"))["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    policy = next(v for v in spec["volumes"] if v["name"] == "policy")
    assert "configMap" in policy


def test_rbac_never_touches_secrets() -> None:
    for obj in render(DEPLOY / "overlays/socket-mode-with-redis"):
        if obj["kind"] in ("ClusterRole", "Role"):
            for rule in obj["rules"]:
                assert "secrets" not in rule.get("resources", []) and "*" not in rule.get("resources", [])
                assert "*" not in rule.get("verbs", [])


def test_bundled_redis_is_durable() -> None:
    objects = render(DEPLOY / "overlays/socket-mode-with-redis")
    conf = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("gpu-chatops-redis")
    )
    text = conf["data"]["redis.conf"]
    assert "appendonly yes" in text and "appendfsync always" in text
    assert any(o["kind"] == "StatefulSet" and o["spec"]["volumeClaimTemplates"] for o in objects)


def test_prometheus_rule_matches_the_rule_file() -> None:
    objects = render(DEPLOY / "overlays/socket-mode-with-redis")
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load((DEPLOY / "prometheus/gpu-rules.yaml").read_text())["groups"]
    assert any(o["kind"] == "ServiceMonitor" for o in objects)


def test_dockerfile_properties() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) >= 2, "multi-stage"
    assert "slim" in stages[-1]
    final = text[text.rindex("\nFROM"):]
    assert not re.search(r"\b(gcc|build-essential|make)\b", final), "no build tools in the final image"
    user = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["chatops", "run"\]', final, re.M)
    assert "HEALTHCHECK" in final and "/healthz" in final


# --- the Slack app manifest lists exactly the scopes and events the code uses --------------------

# Web API method (as called on the client) → the bot scope it needs
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_delete": "chat:write",
    "files_upload_v2": "files:write",
    "conversations_open": "im:write",
    "conversations_history": "channels:history",  # a card posted before a crash is found by its metadata
    "views_publish": None,  # no scope: publishing the bot's own Home tab
    "views_open": None,
    "users_info": "users:read",
    "auth_test": None,
    "usergroups_list": "usergroups:read",  # teams named by Slack user groups
    "usergroups_users_list": "usergroups:read",
}
EVENT_SCOPES = {"app_mention": "app_mentions:read", "message.im": "im:history", "app_home_opened": None,
                "subteam_members_changed": "usergroups:read", "subteam_updated": "usergroups:read",
                "subteam_created": "usergroups:read"}


def _code() -> str:
    return "\n".join(p.read_text() for d in ("bot", "handlers") for p in (ROOT / d).rglob("*.py"))


def test_manifest_scopes_match_the_code() -> None:
    manifest = yaml.safe_load((DEPLOY / "slack/manifest.yaml").read_text())
    code = _code()
    used_methods = {m for m in METHOD_SCOPES if re.search(rf"\.{m}\(", code)}
    slack_call = r"\.((?:chat|files|conversations|views|users|auth|reactions|pins|im|usergroups)_[A-Za-z0-9_]+)\("
    unknown = set(re.findall(slack_call, code)) - set(METHOD_SCOPES)
    assert not unknown, f"map these Web API methods to scopes: {unknown}"
    events = set(re.findall(r'@app\.event\("([a-z_]+)"\)', code))
    if re.search(r'channel_type"\) == "im"', code):
        events = (events - {"message"}) | {"message.im"}
    needed = {METHOD_SCOPES[m] for m in used_methods} | {EVENT_SCOPES[e] for e in events}
    if '@app.command("/gpu")' in code:
        needed.add("commands")
    needed.discard(None)
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == events
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/gpu"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
