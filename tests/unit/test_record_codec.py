"""The stored form of a job record: short names, defaults left out, older long-named records still read."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.jobs import SHORT, JobRecord

NAMES = [f.name for f in dataclasses.fields(JobRecord)]


def test_every_short_name_is_unique_and_no_long_name_is_taken_as_another_field() -> None:
    assert len(set(SHORT.values())) == len(SHORT)
    assert not {s for k, s in SHORT.items() if s != k} & set(NAMES)


@settings(max_examples=200, deadline=None)
@given(st.builds(JobRecord, name=st.text(min_size=1, max_size=8), namespace=st.just("ml-a"), team=st.just("a"),
                 owner=st.just("U1"), image=st.just("img"), gpus=st.integers(1, 64), gpu_type=st.just("h100"),
                 reason=st.none() | st.text(max_size=20), eta=st.none() | st.floats(0, 2e9),
                 env=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
                 node_names=st.lists(st.text(max_size=5), max_size=3), preemptions=st.integers(0, 3)))
def test_a_record_reads_back_as_written(r: JobRecord) -> None:
    assert JobRecord.from_json(r.to_json()) == r


def test_defaults_are_left_out_and_the_scripts_fields_kept() -> None:
    r = JobRecord(name="a", namespace="ml-a", team="a", owner="U1", image="img", gpus=8, gpu_type="h100")
    stored = json.loads(r.to_json())
    assert {"s", "o", "t", "n", "ik", "ns"} <= set(stored) and "reason" not in stored and "r" not in stored
    assert len(r.to_json()) < len(json.dumps(dataclasses.asdict(r))) / 2


def test_a_record_stored_with_long_names_still_reads() -> None:
    r = JobRecord(name="a", namespace="ml-a", team="a", owner="U1", image="img", gpus=8, gpu_type="h100",
                  reason="waiting", state="running", eta=5.0)
    assert JobRecord.from_json(json.dumps(dataclasses.asdict(r))) == r
