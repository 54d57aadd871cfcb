"""``scheduler: builtin|kueue`` in the policy, and what ``chatops check-config`` says about it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.domain.policy.config import load_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/chatops.yaml"


def _with(tmp_path: Path, head: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(head + "\n" + EXAMPLE.read_text())
    return path


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=60)


def test_scheduler_mode_string_or_mapping_and_builtin_by_default(tmp_path: Path) -> None:
    assert load_policy(EXAMPLE).scheduler.mode == "builtin"
    assert load_policy(_with(tmp_path, "scheduler: kueue")).scheduler.mode == "kueue"
    tuned = load_policy(_with(tmp_path, "scheduler:\n  mode: kueue\n  backfill_depth: 50"))
    assert tuned.scheduler.mode == "kueue" and tuned.scheduler.backfill_depth == 50


def test_check_config_explains_the_mode_and_names_the_bad_value(tmp_path: Path) -> None:
    ok = _check(_with(tmp_path, "scheduler: kueue"))
    assert ok.returncode == 0
    assert "scheduler: kueue" in ok.stdout and "chatops kueue-config" in ok.stdout
    assert "kueue.x-k8s.io/queue-name" in ok.stdout
    assert "scheduler: builtin" in _check(EXAMPLE).stdout
    bad = _check(_with(tmp_path, "scheduler: slurm"))
    assert bad.returncode == 1 and "scheduler.mode" in bad.stderr and "'builtin' or 'kueue'" in bad.stderr
