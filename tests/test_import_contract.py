"""The layer contract (DESIGN.md): the pure core imports no I/O library, and each outside
system's library is imported by its one adapter only. Checked on the source, like an import linter."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# library → the only modules (path prefixes) allowed to import it
ADAPTER_ONLY = {
    "kubernetes": ("bot/adapters/kube.py", "bot/sim/", "bot/adapters/kube_watch.py"),
    "redis": ("bot/adapters/queue_store.py", "bot/adapters/preview_store.py", "bot/adapters/redis_client.py",
              "bot/adapters/conversation_store.py", "bot/adapters/notice_store.py", "bot/adapters/alert_store.py"),
    "fakeredis": ("bot/adapters/queue_store.py", "bot/adapters/redis_client.py"),
    "langchain": ("bot/adapters/llm.py",),
    "langchain_core": ("bot/adapters/llm.py",),
    "langchain_openai": ("bot/adapters/llm.py",),
    "prometheus_api_client": ("bot/adapters/prometheus.py",),
    "slack_sdk": ("bot/adapters/slack_web.py", "bot/core/rendering.py", "bot/adapters/slack_outbound.py",
                  "bot/core/cards_render.py", "bot/core/home_render.py", "bot/core/alert_render.py",
                  "bot/core/queue_render.py"),
    "slack_bolt": ("bot/app.py", "bot/cli.py", "bot/http_server.py", "handlers/"),
    "urllib3": ("bot/adapters/kube.py", "bot/adapters/kube_watch.py"),
}
# slack_sdk.models is plain data (Block Kit builders): the core may build blocks with it, nothing else
CORE_ALLOWED_SLACK = ("slack_sdk.models",)
CORE_FORBIDDEN_PREFIXES = ("bot.adapters", "bot.services", "bot.app", "handlers", "bot.sim", "bot.http_server")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _sources() -> list[Path]:
    return sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").rglob("*.py")])


def test_io_libraries_only_in_their_adapter() -> None:
    problems = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = ADAPTER_ONLY.get(top)
            if allowed is not None and not rel.startswith(allowed):
                problems.append(f"{rel} imports {name} (only {', '.join(allowed)} may)")
    assert not problems, "\n".join(problems)


def test_core_is_pure() -> None:
    problems = []
    for path in ROOT.joinpath("bot/core").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith(CORE_FORBIDDEN_PREFIXES):
                problems.append(f"{rel} imports {name}: the core reaches no layer above it")
            elif top == "slack_sdk" and not name.startswith(CORE_ALLOWED_SLACK):
                problems.append(f"{rel} imports {name}: only slack_sdk.models is allowed in the core")
            elif top in ADAPTER_ONLY and top != "slack_sdk":
                problems.append(f"{rel} imports {name}: an I/O library in the pure core")
    assert not problems, "\n".join(problems)


def test_contract_sees_violations(tmp_path: Path) -> None:
    """The checker itself can fail: a planted import is found."""
    planted = tmp_path / "x.py"
    planted.write_text("import redis\nfrom kubernetes import client\n")
    assert _imports(planted) == ["redis", "kubernetes"]
