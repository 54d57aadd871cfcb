"""The policy file watch (``Reloader.check_file``) on in-memory ports and a real file: a change is taken
once it holds for one more look, a content is tried once, and ``clusters`` stay until a restart."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.adapters.redis.group_store import GroupStore
from bot.domain.errors import TransientBackendError
from bot.domain.policy.config import load_policy
from bot.domain.policy.groups import GroupSnapshot
from bot.services.directory import Directory
from bot.services.reload import Reloader
from bot.services.runtime import Runtime
from tests.services.fakes import FakeChat, fake_runtime

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"


class NoSlack:
    def fetch(self, named: object) -> GroupSnapshot:
        raise TransientBackendError("slack", "not needed")


def setup(tmp: Path, **changes: object) -> tuple[Path, Reloader, Runtime, FakeChat]:
    path = tmp / "chatops.yaml"
    data = yaml.safe_load(POLICY.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    policy = load_policy(path)
    rt, chat, _ = fake_runtime(policy)
    directory = Directory(rt, NoSlack(), GroupStore(rt.store.client, policy.redis_prefix), policy)
    directory.refresh()
    return path, Reloader(rt, directory, str(path), load_policy), rt, chat


def test_a_change_is_taken_on_the_second_look_and_a_bad_one_reported_once(tmp_path: Path) -> None:
    path, reloader, rt, chat = setup(tmp_path)
    assert reloader.check_file() is False  # nothing changed
    text = path.read_text()
    path.write_text(text.replace("gpu_quota: 16", "gpu_quota: 24"))
    assert reloader.check_file() is False  # changed since the last look: look once more
    assert reloader.check_file() is True and rt.policy.teams["research"].gpu_quota == 24
    assert reloader.check_file() is False  # taken: not again
    path.write_text(text.replace("gpu_quota: 16", "gpu_quota: lots"))
    reloader.check_file()
    assert reloader.check_file() is False and rt.policy.teams["research"].gpu_quota == 24  # the old one stays
    for _ in range(3):
        reloader.check_file()
    assert sum("was not reloaded" in t for t in chat.texts("dm")) == 1  # the admins are told once


def test_clusters_changed_in_the_file_stay_as_they_were_until_a_restart(tmp_path: Path) -> None:
    path, reloader, rt, _ = setup(tmp_path, clusters={"a": {"context": "x"}, "b": {"context": "y"}})
    data = yaml.safe_load(path.read_text())
    data["clusters"]["c"] = {"context": "z"}
    data["teams"]["research"]["gpu_quota"] = 24
    path.write_text(yaml.safe_dump(data))
    assert reloader.reload() is True
    assert list(rt.policy.clusters) == ["a", "b"] and rt.policy.teams["research"].gpu_quota == 24
