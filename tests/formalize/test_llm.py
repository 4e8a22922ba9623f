from __future__ import annotations

import socket
import time

import pytest

from formalize.llm import PLACEHOLDER_API_KEY, LlmClient, LlmSettings, require_endpoint
from formalize.prompt import Prompt
from kg.errors import LlmError
from tests.formalize.fake_openai import FakeOpenAI, RecordedRequest, ScriptedResponse, chat_completion, error_body

PROMPT = Prompt(system="You formalize statements.", user="Formalize: 1 + 1 = 2.")
ANSWER_TEXT = '{"informal_statement": "One plus one is two.", "lean_code": "theorem t : 1 + 1 = 2 := sorry"}'


def settings_for(server: FakeOpenAI, **overrides) -> LlmSettings:
    values = dict(
        base_url=server.base_url,
        api_key="test-key",
        model="fake-model",
        timeout_seconds=5.0,
        max_retries=2,
    )
    values.update(overrides)
    return LlmSettings(**values)


def reject_json_mode(request: RecordedRequest) -> ScriptedResponse:
    """Reply like a server that does not know response_format."""
    if "response_format" in request.body:
        return ScriptedResponse(400, error_body("Unrecognized request argument: response_format", param="response_format"))
    return ScriptedResponse(200, {"unexpected": "this responder only rejects JSON mode"})


def test_client_returns_answer_and_usage(fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER_TEXT, model="fake-model-2024", prompt_tokens=321, completion_tokens=54)

    answer = LlmClient(settings_for(fake_openai)).complete(PROMPT)

    assert answer.text == ANSWER_TEXT
    assert answer.model == "fake-model-2024"
    assert answer.prompt_tokens == 321
    assert answer.completion_tokens == 54


def test_client_request_body(fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER_TEXT)

    LlmClient(settings_for(fake_openai)).complete(PROMPT)

    assert len(fake_openai.requests) == 1
    request = fake_openai.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == PROMPT.messages()
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.headers.get("authorization") == "Bearer test-key"


def test_client_retries_after_rate_limit(fake_openai: FakeOpenAI):
    fake_openai.push(429, error_body("Rate limit reached", "rate_limit_error"), headers={"retry-after-ms": "10"})
    fake_openai.push_answer(ANSWER_TEXT)

    answer = LlmClient(settings_for(fake_openai, max_retries=2)).complete(PROMPT)

    assert answer.text == ANSWER_TEXT
    assert len(fake_openai.requests) == 2


def test_client_rate_limit_exhausts_retries(fake_openai: FakeOpenAI):
    for _ in range(2):
        fake_openai.push(429, error_body("Rate limit reached", "rate_limit_error"), headers={"retry-after-ms": "10"})

    with pytest.raises(LlmError, match="rate limiting") as raised:
        LlmClient(settings_for(fake_openai, max_retries=1)).complete(PROMPT)

    assert fake_openai.base_url in str(raised.value)
    assert len(fake_openai.requests) == 2


def test_client_drops_response_format_after_400(fake_openai: FakeOpenAI):
    fake_openai.push_responder(reject_json_mode)
    fake_openai.push_answer(ANSWER_TEXT)
    fake_openai.push_answer(ANSWER_TEXT)
    client = LlmClient(settings_for(fake_openai))

    first = client.complete(PROMPT)
    second = client.complete(PROMPT)

    assert first.text == ANSWER_TEXT
    assert second.text == ANSWER_TEXT
    bodies = [request.body for request in fake_openai.requests]
    assert len(bodies) == 3
    assert "response_format" in bodies[0]
    assert "response_format" not in bodies[1]
    assert "response_format" not in bodies[2], "a later request must not try JSON mode again"


def test_client_400_on_plain_retry(fake_openai: FakeOpenAI):
    fake_openai.push(400, error_body("Unrecognized request argument: response_format"))
    fake_openai.push(400, error_body("messages is too long for this model"))
    client = LlmClient(settings_for(fake_openai))

    with pytest.raises(LlmError, match="HTTP 400") as raised:
        client.complete(PROMPT)

    assert "messages is too long" in str(raised.value)
    assert len(fake_openai.requests) == 2
    assert client.json_mode, "JSON mode stays on when the retry without it also failed"


def test_client_timeout_raises_llm_error(fake_openai: FakeOpenAI):
    fake_openai.push(200, chat_completion(ANSWER_TEXT), delay_seconds=10.0)
    client = LlmClient(settings_for(fake_openai, timeout_seconds=0.3, max_retries=0))

    started = time.monotonic()
    with pytest.raises(LlmError, match="timed out after 0.3 s") as raised:
        client.complete(PROMPT)

    assert time.monotonic() - started < 5
    assert fake_openai.base_url in str(raised.value)


def test_client_connection_refused_names_base_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    settings = LlmSettings(base_url=base_url, api_key=None, model="m", timeout_seconds=2.0, max_retries=0)

    with pytest.raises(LlmError, match="Could not connect") as raised:
        LlmClient(settings).complete(PROMPT)

    assert base_url in str(raised.value)
    assert "OPENAI_BASE_URL" in str(raised.value)


def test_client_401_names_api_key_fix(fake_openai: FakeOpenAI):
    fake_openai.push(401, error_body("Incorrect API key provided", "invalid_api_key"))

    with pytest.raises(LlmError, match="rejected the API key") as raised:
        LlmClient(settings_for(fake_openai)).complete(PROMPT)

    assert "--api-key or OPENAI_API_KEY" in str(raised.value)


def test_client_404_names_model_fix(fake_openai: FakeOpenAI):
    fake_openai.push(404, error_body("The model `nope` does not exist"))

    with pytest.raises(LlmError, match="HTTP 404") as raised:
        LlmClient(settings_for(fake_openai, model="nope")).complete(PROMPT)

    assert "--model or LEMMAGRAPH_MODEL" in str(raised.value)
    assert "model nope" in str(raised.value)


def test_client_empty_content_raises(fake_openai: FakeOpenAI):
    fake_openai.push_answer(None)

    with pytest.raises(LlmError, match="no message content"):
        LlmClient(settings_for(fake_openai)).complete(PROMPT)


def test_client_placeholder_key_without_key(fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER_TEXT)

    LlmClient(settings_for(fake_openai, api_key=None)).complete(PROMPT)

    assert fake_openai.requests[0].headers.get("authorization") == f"Bearer {PLACEHOLDER_API_KEY}"


@pytest.mark.parametrize(
    ("base_url", "model", "expected"),
    [
        (None, "m", "--base-url or OPENAI_BASE_URL"),
        ("http://127.0.0.1:9/v1", None, "--model or LEMMAGRAPH_MODEL"),
        (None, None, "--api-key or OPENAI_API_KEY"),
    ],
)
def test_require_endpoint_names_flags(base_url, model, expected):
    settings = LlmSettings(base_url=base_url, api_key=None, model=model)

    with pytest.raises(LlmError, match="No language model is configured") as raised:
        require_endpoint(settings)

    assert expected in str(raised.value)


def test_require_endpoint_accepts_complete_settings():
    require_endpoint(LlmSettings(base_url="http://127.0.0.1:9/v1", api_key=None, model="m"))
