"""``chatops doctor`` against the simulated cluster, real Redis and the fake Slack Web API: what it finds
missing (token, Redis, namespace, RBAC, GPU labels), each with the fix; exit 0 when all is there, else 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.domain.cluster.access import CLUSTER_WIDE, TEAM_NAMESPACE, Permission
from bot.domain.errors import PermanentBackendError
from bot.domain.policy.config import load_policy
from bot.services.doctor import diagnose, exit_code
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack.web_api import FakeSlack
from tests.support.botstack import H100, L40S, POLICY_FILE
from tests.support.redis_server import free_port

CHATOPS = str(Path(sys.executable).with_name("chatops"))
RBAC = Path(__file__).resolve().parents[2] / "deploy/base/rbac.yaml"


def _request(url: str, method: str, body: object) -> int:
    req = urllib.request.Request(url, json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/merge-patch+json" if method == "PATCH"
                                          else "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture
def setup(tmp_path: Path, redis_url: str) -> Iterator[tuple[SimServer, FakeSlack, dict[str, str]]]:
    cluster = SimCluster([NodeSpec("h100-0", 8, H100), NodeSpec("l40s-0", 4, L40S)])
    with FakeSlack() as slack, SimServer(cluster) as sim:
        for ns in ("ml-research", "ml-vision"):  # a sim that serves Namespaces has them; one that does not, 404
            _request(f"{sim.url}/api/v1/namespaces", "POST", {"metadata": {"name": ns}})
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REDIS_", "CHATOPS_"))}
        env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.url, REDIS_URL=redis_url,
                   KUBECONFIG=str(sim.write_kubeconfig(tmp_path / "kubeconfig")), CHATOPS_CONFIG=str(POLICY_FILE))
        yield sim, slack, env


def doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHATOPS, "doctor"], env=env, capture_output=True, text=True, timeout=60)


def test_a_complete_setup_passes(setup: tuple[SimServer, FakeSlack, dict[str, str]]) -> None:
    sim, slack, env = setup
    out = doctor(env)
    assert out.returncode == 0, out.stdout + out.stderr
    for line in ("ok   slack token: signed in to Slack as @chatops", "ok   redis: answers PING",
                 "ok   namespace ml-research", "ok   namespace ml-vision",
                 f"ok   rbac: all {len(CLUSTER_WIDE) + 2 * len(TEAM_NAMESPACE)} permissions",
                 "ok   gpu nodes: 1 × h100 (NVIDIA-H100-80GB-HBM3), 1 × l40s (NVIDIA-L40S)", "all checks passed"):
        assert line in out.stdout, line
    assert [c.method for c in slack.calls()] == ["auth.test"]
    assert [r.namespace for r in sim.request_log if r.verb == "create" and r.resource == "jobs"]\
        == ["ml-research", "ml-vision"]
    assert sim.cluster.store.list("jobs", None)[1] == [], "the probe Job is a dry run only"


def test_what_is_missing_is_said_with_the_fix(setup: tuple[SimServer, FakeSlack, dict[str, str]]) -> None:
    sim, slack, env = setup
    slack.revoked.add("xoxb-test")
    sim.denied_access.update({("get", "", "pods/log", "ml-vision"), ("watch", "batch", "jobs", "")})
    assert _request(f"{sim.url}/api/v1/nodes/l40s-0", "PATCH",
                    {"metadata": {"labels": {"nvidia.com/gpu.product": None}}}) == 200
    out = doctor({**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert out.returncode == 1, out.stdout + out.stderr
    for line in ("FAIL slack token: SLACK_BOT_TOKEN was refused by Slack (token_revoked)",
                 "FAIL redis: does not answer", "check REDIS_URL",
                 "FAIL rbac: 2 permission(s) missing: watch jobs.batch cluster-wide, get pods/log in ml-vision",
                 "FAIL gpu nodes: GPU node(s) without the `nvidia.com/gpu.product` label: l40s-0",
                 "4 check(s) failed"):
        assert line in out.stdout, line
    assert "Traceback" not in out.stderr


def test_a_missing_team_namespace_says_how_to_create_it() -> None:
    class Cluster:
        def allowed(self, perm: Permission, namespace: str | None) -> bool:
            return True

        def can_launch_in(self, namespace: str) -> None:
            if namespace == "ml-vision":  # what a real API server answers
                raise PermanentBackendError("kubernetes", 'namespaces "ml-vision" not found', status=404)

        def gpu_nodes(self) -> dict[str, str | None]:
            return {"h100-0": H100}

    class Redis:
        def ping(self) -> bool:
            return True

    checks = diagnose(load_policy(POLICY_FILE), lambda: ("chatops", "Acme"), Redis(), Cluster())
    failed = [c for c in checks if c.ok is False]
    assert [c.name for c in failed] == ["namespace ml-vision"] and exit_code(checks) == 1
    assert 'namespaces "ml-vision" not found' in failed[0].detail
    assert "kubectl create namespace ml-vision" in failed[0].detail


def test_the_permissions_checked_are_those_deploy_grants() -> None:
    roles = {d["metadata"]["name"]: d for d in yaml.safe_load_all(RBAC.read_text()) if d["kind"] == "ClusterRole"}

    def granted(role: str) -> set[Permission]:
        return {Permission(g, r, v) for rule in roles[role]["rules"] for g in rule["apiGroups"]
                for r in rule["resources"] for v in rule["verbs"]}

    assert granted("gpu-chatops-team-namespace") == set(TEAM_NAMESPACE)
    assert granted("gpu-chatops-cluster-read") == set(CLUSTER_WIDE)


def test_several_clusters_are_each_checked_under_their_name(setup: tuple[SimServer, FakeSlack, dict[str, str]],
                                                           tmp_path: Path) -> None:
    sim, slack, env = setup
    cloud = SimCluster([NodeSpec("h100-0", 8, H100)])  # no ml-vision namespace: the policy says it serves only research
    with SimServer(cloud) as other:
        _request(f"{other.url}/api/v1/namespaces", "POST", {"metadata": {"name": "ml-research"}})
        onprem_kc = sim.write_kubeconfig(tmp_path / "onprem.yaml", "onprem")
        cloud_kc = other.write_kubeconfig(tmp_path / "cloud.yaml", "cloud")
        policy = tmp_path / "chatops.yaml"
        policy.write_text(POLICY_FILE.read_text() + "\nclusters:\n  onprem: {context: onprem}\n"
                          "  cloud: {context: cloud, gpu_types: [h100], namespaces: [ml-research]}\n")
        out = doctor({**env, "KUBECONFIG": f"{onprem_kc}:{cloud_kc}", "CHATOPS_CONFIG": str(policy)})
    assert out.returncode == 0, out.stdout + out.stderr
    for line in ("ok   slack token", "ok   onprem: namespace ml-vision", "ok   cloud: namespace ml-research",
                 "ok   cloud: gpu nodes: 1 × h100", "ok   onprem: gpu nodes: 1 × h100"):
        assert line in out.stdout, line
    assert "cloud: namespace ml-vision" not in out.stdout
    assert out.stdout.count("slack token") == 1
    assert [c.method for c in slack.calls()] == ["auth.test"]  # once, not once per cluster
