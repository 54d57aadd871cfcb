"""`chatops check-config` on `clusters:`: the contexts against KUBECONFIG, the example policy, Kueue."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.sim.discovery import kubeconfig_yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clusters-policy.yaml"


def kubeconfig(tmp: Path, *contexts: str) -> Path:
    """One file with the given contexts (each a one-cluster kubeconfig, merged through KUBECONFIG's list)."""
    paths = []
    for ctx in contexts:
        p = tmp / f"{ctx.replace('@', '_')}.yaml"
        p.write_text(kubeconfig_yaml("http://127.0.0.1:1", ctx))
        paths.append(str(p))
    return Path(":".join(paths))


def check(path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          kube: Path | None) -> tuple[int, str, str]:
    if kube is None:
        monkeypatch.delenv("KUBECONFIG", raising=False)
    else:
        monkeypatch.setenv("KUBECONFIG", str(kube))
    code = main(["check-config", str(path)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_example_is_accepted_when_its_contexts_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    kube = kubeconfig(tmp_path, "onprem-admin@onprem", "gke_acme_us-central1_gpu")
    code, out, err = check(EXAMPLE, monkeypatch, capsys, kube)
    assert code == 0, err
    assert "clusters: onprem, cloud" in out


def test_an_unknown_context_is_an_error_naming_the_key_and_the_contexts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    kube = kubeconfig(tmp_path, "onprem-admin@onprem", "other")
    code, _, err = check(EXAMPLE, monkeypatch, capsys, kube)
    assert code == 1
    assert "clusters.cloud.context: 'gke_acme_us-central1_gpu' is not a context of KUBECONFIG" in err
    assert "onprem-admin@onprem, other" in err


def test_without_kubeconfig_the_contexts_are_not_checked_and_it_says_so(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = check(EXAMPLE, monkeypatch, capsys, None)
    assert code == 0 and "contexts were not checked" in err


def test_kueue_with_two_clusters_is_refused_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "kueue.yaml"
    bad.write_text(EXAMPLE.read_text() + "\nscheduler: kueue\n")
    code, _, err = check(bad, monkeypatch, capsys, None)
    assert code == 1 and "MultiKueue" in err
