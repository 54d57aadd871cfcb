"""Every bolt listener hands its errors to the one error handler itself (``@answered``): bolt drops the
ack of a listener that raises after ``ack()`` and Slack then shows an error on the button."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
KINDS = {"action", "command", "event", "view", "options", "shortcut", "message"}


def _decorators(fn: ast.FunctionDef) -> list[str]:
    names = []
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute):
            names.append(target.attr)
        elif isinstance(target, ast.Name):
            names.append(target.id)
    return names


def test_every_listener_is_answered() -> None:
    listeners, bare = 0, []
    for path in sorted(HANDLERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and KINDS & set(_decorators(node)):
                listeners += 1
                if "answered" not in _decorators(node):
                    bare.append(f"{path.name}:{node.lineno} {node.name}")
    assert listeners >= 15
    assert not bare, f"listeners without @answered: {bare}"
