"""The real provider client (ChatOpenAI via init_chat_model + base_url) against a local
OpenAI-compatible stub over HTTP: valid output, malformed JSON, a 500, a timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.adapters.llm import LLMError, LLMParser
from bot.domain.actions import Launch, ListJobs, Queue
from bot.services.understanding import Understanding
from tests.support.openai_stub import Answer, OpenAIStub, tool

TEXT = "please start llama-ft on 4 A100 GPUs for 6 hours"


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


def parser(stub: OpenAIStub, timeout_s: float = 2.0) -> LLMParser:
    return LLMParser.from_settings("openai:stub-model", stub.base_url, timeout_s=timeout_s)


def test_valid_tool_call(stub: OpenAIStub) -> None:
    stub.script = [tool(action="launch", name="llama-ft", gpus=4, gpu_type="A100", time_limit_s=21600,
                        namespace="kube-system")]
    got = parser(stub).propose(TEXT)
    assert got == Launch(name="llama-ft", gpus=4, gpu_type="a100", time_limit_s=21600,
                         given=frozenset({"name", "gpus", "gpu_type", "time_limit_s"}))
    sent = stub.requests[0]
    assert sent["model"] == "stub-model" and sent["temperature"] == 0
    assert sent["tool_choice"]["function"]["name"] == "ActionProposal"
    params = sent["tools"][0]["function"]["parameters"]["properties"]
    assert not {"user", "team", "namespace"} & set(params)  # the schema cannot carry identity
    system = sent["messages"][0]["content"]
    assert "clarify" in system and "kill all my queued jobs" in system  # the contract and examples
    assert sent["messages"][-1]["content"] == TEXT


def test_json_text_answer(stub: OpenAIStub) -> None:
    stub.script = [Answer("text", text='{"action": "queue"}')]
    assert parser(stub).propose("what's waiting?") == Queue()


@pytest.mark.parametrize("answer", [Answer("malformed"), Answer("error"), Answer("text", text="I'd rather not"),
                                    tool(action="launch", gpus=-3)])
def test_failures_raise_llm_error_without_retries(stub: OpenAIStub, answer: Answer) -> None:
    stub.script = [answer]
    with pytest.raises(LLMError):
        parser(stub).propose(TEXT)
    assert len(stub.requests) == 1  # max_retries=0: one model call per message


def test_timeout(stub: OpenAIStub) -> None:
    stub.script = [Answer("slow", args={"action": "help"}, delay_s=3.0)]
    t0 = time.monotonic()
    with pytest.raises(LLMError, match="no answer within"):
        parser(stub, timeout_s=0.5).propose(TEXT)
    assert time.monotonic() - t0 < 1.5


@pytest.mark.parametrize("answer", [Answer("malformed"), Answer("error"),
                                    Answer("slow", args={"action": "help"}, delay_s=3.0)])
def test_rules_answer_when_the_model_fails(stub: OpenAIStub, answer: Answer) -> None:
    stub.script = [answer]
    u = Understanding(None, lambda user: [], parser(stub, timeout_s=0.5))
    got = u.understand("URES0001", "C1", "<@UBOT0001> show my jobs")
    assert got.action == ListJobs(scope="mine") and got.source == "rules"


def test_model_context_is_sent(stub: OpenAIStub) -> None:
    stub.script = [tool(action="status", job="bert-base")]
    parser(stub).propose("and that one?", {"action": "status", "job": "llama-ft"})
    assert any("llama-ft" in m["content"] for m in stub.requests[0]["messages"] if m["role"] == "system")
