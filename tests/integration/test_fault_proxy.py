"""The fault proxy (tests/support/fault_proxy.py) in front of the simulated API server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import ProtocolError

from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from tests.support.fault_proxy import FaultProxy

NS = "team-a"


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(SimCluster([NodeSpec("h100-0", 8, "NVIDIA-H100-80GB-HBM3")], namespaces=[NS])) as server:
        yield server


def _api(url: str) -> client.CoreV1Api:
    config = client.Configuration(host=url)
    config.retries = False  # the client's own urllib3 retries would hide the faults under test
    return client.CoreV1Api(client.ApiClient(config))


def _service(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"clusterIP": "None", "selector": {"app": name}}}


def _pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "ghcr.io/acme/train:1"}]}}


def test_rules_answer_429_with_retry_after_then_pass(sim: SimServer) -> None:
    with FaultProxy(sim.url) as proxy:
        proxy.add_rule("GET", r"/api/v1/nodes$", "429", times=1, retry_after=2)
        api = _api(proxy.url)
        with pytest.raises(ApiException) as err:
            api.list_node()
        assert err.value.status == 429 and err.value.headers["Retry-After"] == "2"
        assert json.loads(err.value.body)["reason"] == "TooManyRequests"
        assert [n.metadata.name for n in api.list_node().items] == ["h100-0"]  # the rule was used up
        assert [(i.method, i.fault) for i in proxy.faults()] == [("GET", "429")]


def test_apply_then_500_changes_the_cluster_and_answers_500(sim: SimServer) -> None:
    with FaultProxy(sim.url) as proxy:
        api = _api(proxy.url)
        api.create_namespaced_service(NS, _service("x"))
        proxy.add_rule("DELETE", r"/services/x$", "apply_then_500", times=1)
        with pytest.raises(ApiException) as err:
            api.delete_namespaced_service("x", NS)
        assert err.value.status == 500
        assert [c.metadata.name for c in api.list_namespaced_service(NS).items] == []  # it was applied


def test_drop_closes_the_connection_without_an_answer(sim: SimServer) -> None:
    with FaultProxy(sim.url) as proxy:
        proxy.add_rule(None, None, "drop", times=1)
        with pytest.raises(ProtocolError):
            _api(proxy.url).list_node()


def test_random_faults_follow_the_seed(sim: SimServer) -> None:
    def run(seed: int) -> list[str]:
        outcomes = []
        with FaultProxy(sim.url, error_rate=0.3, throttle_rate=0.2, drop_rate=0.1, seed=seed) as proxy:
            api = _api(proxy.url)
            for _ in range(40):
                try:
                    api.list_node()
                    outcomes.append("ok")
                except ApiException as err:
                    outcomes.append(str(err.status))
                except ProtocolError:
                    outcomes.append("drop")
        return outcomes

    first = run(3)
    assert first == run(3)
    assert {"ok", "500", "429", "drop"} <= set(first)


def test_watches_stream_through(sim: SimServer) -> None:
    with FaultProxy(sim.url, error_rate=1.0) as proxy:  # random faults spare watches by default
        api = _api(proxy.url)
        seen: list[str] = []
        got = threading.Event()

        def watching() -> None:
            for event in watch.Watch().stream(api.list_namespaced_pod, NS, timeout_seconds=5):
                seen.append(event["object"].metadata.name)
                got.set()
                return

        thread = threading.Thread(target=watching, daemon=True)
        thread.start()
        _api(sim.url).create_namespaced_pod(NS, _pod("live"))
        assert got.wait(5), "the watch event did not come through the proxy"
        thread.join(5)
        assert seen == ["live"]
