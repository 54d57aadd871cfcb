"""The layer contract: handlers and HTTP routes → services → render → domain; adapters → domain.

The pure domain imports nothing of ours outside itself and no I/O library; each outside system's library is
imported by its one adapter only; no import circles between our modules. Checked on the source, like an
import linter."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# library → the only modules (path prefixes) allowed to import it
ADAPTER_ONLY = {
    "kubernetes": ("bot/adapters/kube/", "bot/sim/"),
    "urllib3": ("bot/adapters/kube/",),
    "redis": ("bot/adapters/redis/",),
    "fakeredis": ("bot/adapters/redis/",),
    "langchain": ("bot/adapters/llm.py",),
    "langchain_core": ("bot/adapters/llm.py",),
    "langchain_openai": ("bot/adapters/llm.py",),
    "prometheus_api_client": ("bot/adapters/prometheus.py",),
    "matplotlib": ("bot/adapters/charts.py",),
    "slack_sdk": ("bot/adapters/slack/", "bot/render/"),
    "slack_bolt": ("bot/app.py", "bot/cli.py", "bot/http_server.py", "handlers/"),
}
# slack_sdk.models is plain data (Block Kit builders): render may build blocks with it, nothing else
RENDER_ALLOWED_SLACK = ("slack_sdk.models",)

# layer → the layers of ours it may import (besides itself)
LAYERS: dict[str, tuple[str, ...]] = {
    "bot.domain": (),
    "bot.render": ("bot.domain",),
    "bot.adapters": ("bot.domain", "bot.metrics"),
    "bot.services": ("bot.domain", "bot.render", "bot.metrics", "bot.logs"),
    "handlers": ("bot.services", "bot.domain", "bot.render"),
}
OURS = ("bot", "handlers")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            # "from bot.render import cards" names the module bot.render.cards
            names.extend(f"{node.module}.{a.name}" for a in node.names
                         if (ROOT / (node.module.replace(".", "/") + f"/{a.name}.py")).exists())
    return names


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> list[Path]:
    return sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").rglob("*.py")])


def _layer(module: str) -> str | None:
    return next((layer for layer in LAYERS if module == layer or module.startswith(layer + ".")), None)


def test_io_libraries_only_in_their_adapter() -> None:
    problems = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = ADAPTER_ONLY.get(top)
            if allowed is not None and not rel.startswith(allowed):
                problems.append(f"{rel} imports {name} (only {', '.join(allowed)} may)")
            if top == "slack_sdk" and rel.startswith("bot/render/") and not name.startswith(RENDER_ALLOWED_SLACK):
                problems.append(f"{rel} imports {name}: render may use slack_sdk.models only")
    assert not problems, "\n".join(problems)


def test_layers_import_one_direction() -> None:
    problems = []
    for path in _sources():
        me = _module(path)
        layer = _layer(me)
        if layer is None:
            continue
        allowed = (layer, *LAYERS[layer])
        for name in _imports(path):
            if name.split(".")[0] not in OURS or name == "bot":
                continue
            if not any(name == a or name.startswith(a + ".") for a in allowed):
                problems.append(f"{me} ({layer}) imports {name}: only {', '.join(allowed)}")
    assert not problems, "\n".join(problems)


def test_services_reach_adapters_only_through_ports() -> None:
    """Services name ports (Protocols), never an adapter class: the composition root wires adapters."""
    problems = [f"{_module(p)} imports {n}" for p in ROOT.joinpath("bot/services").rglob("*.py")
                for n in _imports(p) if n.startswith(("bot.adapters", "bot.sim", "bot.app", "bot.http_server"))]
    assert not problems, "\n".join(problems)


def _graph() -> dict[str, set[str]]:
    modules = {_module(p) for p in _sources()}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _sources():
        me = _module(path)
        for name in _imports(path):
            if name in modules and name != me and not me.startswith(name + "."):
                graph[me].add(name)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_circles() -> None:
    found = _cycle(_graph())
    assert found is None, " → ".join(found or [])


def test_contract_sees_violations(tmp_path: Path) -> None:
    """The checker itself can fail: a planted import is found, and so is a planted circle."""
    planted = tmp_path / "x.py"
    planted.write_text("import redis\nfrom kubernetes import client\n")
    assert _imports(planted) == ["redis", "kubernetes"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None
