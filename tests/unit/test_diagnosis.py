"""Failure diagnosis in plain words with a next step, from facts and the log tail."""

from __future__ import annotations

from bot.domain.cluster.diagnosis import explain, log_cause, relaunch_command
from bot.domain.cluster.job_states import Failure
from bot.domain.jobs import JobRecord

R = JobRecord(name="llama", namespace="ml-research", team="research", owner="U1", image="ghcr.io/a/t:1",
              gpus=16, gpu_type="h100", nodes=2, time_limit_s=3600, command=["torchrun", "train.py"],
              env={"LR": "3e-4"})

NCCL = ("[rank0]:[E1129 ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective operation timeout: "
        "WorkNCCL(SeqNum=7, OpType=ALLREDUCE) ran for 600027 milliseconds before timing out.")
CUDA = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB."


def test_log_causes() -> None:
    assert log_cause(CUDA) == "cuda-oom"
    assert log_cause(NCCL) == "nccl-timeout"
    assert log_cause("step 10 loss 1.2") is None


def test_each_kind_has_words_and_a_next_step() -> None:
    cases = {
        "oomkilled": ("memory limit", "fewer data-loader workers"),
        "image_pull": ("ghcr.io/a/t:1", "registry"),
        "unschedulable": ("2 node(s) with 8 free h100", "/gpu queue"),
        "node_lost": ("stopped answering", "launch again"),
        "evicted": ("evicted", "launch again"),
        "unknown": ("failed", "/gpu logs"),
    }
    for kind, words in cases.items():
        text = explain(Failure(kind, message="Insufficient nvidia.com/gpu"), R)  # type: ignore[arg-type]
        assert all(w in text for w in words), (kind, text)


def test_exit_code_vs_log_tail() -> None:
    assert "exit code 2" in explain(Failure("exit_code", exit_code=2), R, "Traceback ... KeyError")
    assert "CUDA ran out of GPU memory" in explain(Failure("exit_code", exit_code=1), R, CUDA)
    assert "NCCL watchdog" in explain(Failure("exit_code", exit_code=1), R, NCCL)
    assert "ran out of memory" in explain(Failure("oomkilled", exit_code=137), R, CUDA), "OOMKilled wins"


def test_deadline_gives_the_exact_command() -> None:
    text = explain(Failure("deadline"), R, max_time_limit_s=7200)
    assert "time limit of 1h" in text
    assert ("/gpu launch llama-2 --image ghcr.io/a/t:1 --gpus 16 --gpu-type h100 --nodes 2 --time 2h "
            "--env LR=3e-4 -- torchrun train.py") in text
    assert "--time 2h" in relaunch_command(R, 7200)
    capped = explain(Failure("deadline"), R, max_time_limit_s=5400)
    assert "--time 1h30m" in capped, "never more than the policy allows"
