from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

import pytest

from formalize.answer import ANSWER_SCHEMA
from formalize.llm import (
    JSON_OBJECT,
    JSON_SCHEMA,
    PLAIN,
    PLACEHOLDER_API_KEY,
    LlmClient,
    LlmSettings,
    ResponseSchema,
    require_endpoint,
    retry_after_seconds,
)
from formalize.llm_cache import ResponseCache, cache_key
from formalize.prompt import Prompt
from kg.errors import LlmError
from tests.formalize.fake_openai import FakeOpenAI, RecordedRequest, ScriptedResponse, chat_completion, error_body

PROMPT = Prompt(system="You formalize statements.", user="Formalize: 1 + 1 = 2.")
MESSAGES = PROMPT.messages()
SCHEMA = ResponseSchema(name="lean_target", schema=ANSWER_SCHEMA)
ANSWER_TEXT = '{"informal_statement": "One plus one is two.", "lean_code": "theorem t : 1 + 1 = 2 := sorry"}'


def settings_for(server: FakeOpenAI, **overrides) -> LlmSettings:
    values = dict(
        base_url=server.base_url,
        api_key="test-key",
        model="fake-model",
        timeout_seconds=5.0,
        max_retries=2,
        backoff_seconds=0.5,
        max_wait_seconds=30.0,
    )
    values.update(overrides)
    return LlmSettings(**values)


class RecordedSleep:
    """Stands in for time.sleep and records each wait, so backoff tests take no time."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def reject_json_mode(request: RecordedRequest) -> ScriptedResponse:
    """Reply like a server that does not know response_format."""
    if "response_format" in request.body:
        return ScriptedResponse(400, error_body("Unrecognized request argument: response_format", param="response_format"))
    return ScriptedResponse(200, {"unexpected": "this responder only rejects JSON mode"})


def test_client_returns_answer_and_usage(fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER_TEXT, model="fake-model-2024", prompt_tokens=321, completion_tokens=54)

    answer = LlmClient(settings_for(fake_openai)).complete(MESSAGES)

    assert answer.text == ANSWER_TEXT
    assert answer.model == "fake-model-2024"
    assert answer.prompt_tokens == 321
    assert answer.completion_tokens == 54


def test_client_request_body(fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER_TEXT)

    LlmClient(settings_for(fake_openai)).complete(MESSAGES, SCHEMA)

    assert len(fake_openai.requests) == 1
    request = fake_openai.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == MESSAGES
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "lean_target", "schema": ANSWER_SCHEMA, "strict": True},
    }
    assert request.headers.get("authorization") == "Bearer test-key"


def test_client_without_schema_asks_json_object(fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER_TEXT)

    answer = LlmClient(settings_for(fake_openai)).complete(MESSAGES)

    assert fake_openai.requests[0].body["response_format"] == {"type": "json_object"}
    assert answer.output_mode == JSON_OBJECT


def test_client_retries_after_rate_limit(fake_openai: FakeOpenAI):
    fake_openai.push(429, error_body("Rate limit reached", "rate_limit_error"))
    fake_openai.push_answer(ANSWER_TEXT)
    sleep = RecordedSleep()

    answer = LlmClient(settings_for(fake_openai, max_retries=2), sleep=sleep).complete(MESSAGES)

    assert answer.text == ANSWER_TEXT
    assert len(fake_openai.requests) == 2
    assert sleep.waits == [0.5]


def test_client_honours_retry_after_seconds(fake_openai: FakeOpenAI):
    fake_openai.push(429, error_body("Rate limit reached", "rate_limit_error"), headers={"Retry-After": "7"})
    fake_openai.push_answer(ANSWER_TEXT)
    sleep = RecordedSleep()

    LlmClient(settings_for(fake_openai), sleep=sleep).complete(MESSAGES)

    assert sleep.waits == [7.0]


def test_client_bounds_retry_after(fake_openai: FakeOpenAI):
    fake_openai.push(429, error_body("Slow down", "rate_limit_error"), headers={"Retry-After": "3600"})
    fake_openai.push_answer(ANSWER_TEXT)
    sleep = RecordedSleep()

    LlmClient(settings_for(fake_openai, max_wait_seconds=12.0), sleep=sleep).complete(MESSAGES)

    assert sleep.waits == [12.0]


def test_client_backs_off_exponentially_on_5xx(fake_openai: FakeOpenAI):
    fake_openai.push(503, error_body("overloaded", "server_error"))
    fake_openai.push(500, error_body("crashed", "server_error"))
    fake_openai.push(502, error_body("bad gateway", "server_error"))
    fake_openai.push_answer(ANSWER_TEXT)
    sleep = RecordedSleep()

    answer = LlmClient(settings_for(fake_openai, max_retries=3), sleep=sleep).complete(MESSAGES)

    assert answer.text == ANSWER_TEXT
    assert sleep.waits == [0.5, 1.0, 2.0]
    assert len(fake_openai.requests) == 4


def test_client_rate_limit_exhausts_retries(fake_openai: FakeOpenAI):
    for _ in range(2):
        fake_openai.push(429, error_body("Rate limit reached", "rate_limit_error"), headers={"retry-after-ms": "10"})
    sleep = RecordedSleep()

    with pytest.raises(LlmError, match="rate limiting") as raised:
        LlmClient(settings_for(fake_openai, max_retries=1), sleep=sleep).complete(MESSAGES)

    assert fake_openai.base_url in str(raised.value)
    assert len(fake_openai.requests) == 2
    assert sleep.waits == [0.01]


def test_client_does_not_retry_400(fake_openai: FakeOpenAI):
    for _ in range(3):
        fake_openai.push(400, error_body("messages is too long for this model"))
    sleep = RecordedSleep()

    with pytest.raises(LlmError, match="HTTP 400"):
        LlmClient(settings_for(fake_openai), sleep=sleep).complete(MESSAGES, SCHEMA)

    assert sleep.waits == []
    assert len(fake_openai.requests) == 3, "one request per output mode, none repeated"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "Wed, 01 May 2024 10:00:30 GMT"}, 30.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers, expected):
    now = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)

    assert retry_after_seconds(headers, now=now) == expected


def reject_json_schema(request: RecordedRequest) -> ScriptedResponse:
    """Reply like a server that accepts JSON mode but rejects JSON schemas."""
    if request.body.get("response_format", {}).get("type") == "json_schema":
        return ScriptedResponse(400, error_body("response_format json_schema is not supported", param="response_format"))
    return ScriptedResponse(200, chat_completion(ANSWER_TEXT))


def test_client_falls_back_to_json_object(fake_openai: FakeOpenAI):
    for _ in range(3):
        fake_openai.push_responder(reject_json_schema)
    client = LlmClient(settings_for(fake_openai))

    first = client.complete(MESSAGES, SCHEMA)
    second = client.complete(MESSAGES + [{"role": "user", "content": "again"}], SCHEMA)

    assert first.text == ANSWER_TEXT
    assert first.output_mode == JSON_OBJECT
    assert second.output_mode == JSON_OBJECT
    formats = [request.body.get("response_format", {}).get("type") for request in fake_openai.requests]
    assert formats == ["json_schema", "json_object", "json_object"], "a later request must not try the schema again"
    assert client.mode == JSON_OBJECT


def test_client_falls_back_to_plain_text(fake_openai: FakeOpenAI):
    fake_openai.push_responder(reject_json_mode)
    fake_openai.push_responder(reject_json_mode)
    fake_openai.push_answer("```json\n" + ANSWER_TEXT + "\n```")
    fake_openai.push_answer(ANSWER_TEXT)
    client = LlmClient(settings_for(fake_openai))

    first = client.complete(MESSAGES, SCHEMA)
    client.complete(MESSAGES + [{"role": "user", "content": "again"}], SCHEMA)

    assert first.output_mode == PLAIN
    assert first.text.startswith("```json")
    bodies = [request.body for request in fake_openai.requests]
    assert len(bodies) == 4
    assert bodies[0]["response_format"]["type"] == "json_schema"
    assert bodies[1]["response_format"]["type"] == "json_object"
    assert "response_format" not in bodies[2]
    assert "response_format" not in bodies[3], "a later request must not try JSON mode again"


def test_client_400_in_every_mode(fake_openai: FakeOpenAI):
    fake_openai.push(400, error_body("Unrecognized request argument: response_format"))
    fake_openai.push(400, error_body("Unrecognized request argument: response_format"))
    fake_openai.push(400, error_body("messages is too long for this model"))
    client = LlmClient(settings_for(fake_openai))

    with pytest.raises(LlmError, match="HTTP 400") as raised:
        client.complete(MESSAGES, SCHEMA)

    assert "messages is too long" in str(raised.value)
    assert len(fake_openai.requests) == 3
    assert client.mode == JSON_SCHEMA, "the mode stays when no weaker mode succeeded"


def test_client_timeout_raises_llm_error(fake_openai: FakeOpenAI):
    fake_openai.push(200, chat_completion(ANSWER_TEXT), delay_seconds=10.0)
    client = LlmClient(settings_for(fake_openai, timeout_seconds=0.3, max_retries=0))

    started = time.monotonic()
    with pytest.raises(LlmError, match="timed out after 0.3 s") as raised:
        client.complete(MESSAGES)

    assert time.monotonic() - started < 5
    assert fake_openai.base_url in str(raised.value)
    assert "--timeout" in str(raised.value)


def test_client_retries_after_timeout(fake_openai: FakeOpenAI):
    fake_openai.push(200, chat_completion("too late"), delay_seconds=10.0)
    fake_openai.push_answer(ANSWER_TEXT)
    sleep = RecordedSleep()
    client = LlmClient(settings_for(fake_openai, timeout_seconds=0.3, max_retries=1), sleep=sleep)

    answer = client.complete(MESSAGES)

    assert answer.text == ANSWER_TEXT
    assert len(fake_openai.requests) == 2
    assert sleep.waits == [0.5]


def test_client_cache_hit_sends_nothing(fake_openai: FakeOpenAI, tmp_path):
    fake_openai.push_answer(ANSWER_TEXT, model="fake-model-2024", prompt_tokens=300, completion_tokens=40)
    cache = ResponseCache(tmp_path / "cache")

    first = LlmClient(settings_for(fake_openai), cache=cache).complete(MESSAGES, SCHEMA)
    second = LlmClient(settings_for(fake_openai), cache=cache).complete(MESSAGES, SCHEMA)

    assert len(fake_openai.requests) == 1
    assert first.cached is False
    assert second.cached is True
    assert second.text == ANSWER_TEXT
    assert second.model == "fake-model-2024"
    assert (second.prompt_tokens, second.completion_tokens) == (300, 40)


def test_client_cache_misses_on_other_messages(fake_openai: FakeOpenAI, tmp_path):
    fake_openai.push_answer(ANSWER_TEXT)
    fake_openai.push_answer(ANSWER_TEXT)
    cache = ResponseCache(tmp_path / "cache")
    client = LlmClient(settings_for(fake_openai), cache=cache)

    client.complete(MESSAGES, SCHEMA)
    other = client.complete([*MESSAGES[:1], {"role": "user", "content": "Formalize: 2 + 2 = 4."}], SCHEMA)

    assert other.cached is False
    assert len(fake_openai.requests) == 2


def test_cache_key_covers_model_messages_format():
    base = cache_key("m", MESSAGES, {"type": "json_object"})

    assert cache_key("m", MESSAGES, {"type": "json_object"}) == base
    assert cache_key("other", MESSAGES, {"type": "json_object"}) != base
    assert cache_key("m", MESSAGES[:1], {"type": "json_object"}) != base
    assert cache_key("m", MESSAGES, None) != base
    assert len(base) == 64


def test_damaged_cache_file_is_a_miss(fake_openai: FakeOpenAI, tmp_path):
    cache = ResponseCache(tmp_path / "cache")
    key = cache_key("fake-model", MESSAGES, SCHEMA.response_format(JSON_SCHEMA), base_url=fake_openai.base_url)
    cache.path(key).parent.mkdir(parents=True)
    cache.path(key).write_text("{not json", encoding="utf-8")
    fake_openai.push_answer(ANSWER_TEXT)

    answer = LlmClient(settings_for(fake_openai), cache=cache).complete(MESSAGES, SCHEMA)

    assert answer.cached is False
    assert len(fake_openai.requests) == 1


def test_client_connection_refused_names_base_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    settings = LlmSettings(base_url=base_url, api_key=None, model="m", timeout_seconds=2.0, max_retries=0)

    with pytest.raises(LlmError, match="Could not connect") as raised:
        LlmClient(settings).complete(MESSAGES)

    assert base_url in str(raised.value)
    assert "OPENAI_BASE_URL" in str(raised.value)


def test_client_401_names_api_key_fix(fake_openai: FakeOpenAI):
    fake_openai.push(401, error_body("Incorrect API key provided", "invalid_api_key"))

    with pytest.raises(LlmError, match="rejected the API key") as raised:
        LlmClient(settings_for(fake_openai)).complete(MESSAGES)

    assert "--api-key or OPENAI_API_KEY" in str(raised.value)


def test_client_404_names_model_fix(fake_openai: FakeOpenAI):
    fake_openai.push(404, error_body("The model `nope` does not exist"))

    with pytest.raises(LlmError, match="HTTP 404") as raised:
        LlmClient(settings_for(fake_openai, model="nope")).complete(MESSAGES)

    assert "--model or LEMMAGRAPH_MODEL" in str(raised.value)
    assert "model nope" in str(raised.value)


def test_client_empty_content_raises(fake_openai: FakeOpenAI):
    fake_openai.push_answer(None)

    with pytest.raises(LlmError, match="no message content"):
        LlmClient(settings_for(fake_openai)).complete(MESSAGES)


def test_client_placeholder_key_without_key(fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER_TEXT)

    LlmClient(settings_for(fake_openai, api_key=None)).complete(MESSAGES)

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


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Welcome to nginx!</body></html>", "text/html"),
        ("<html><body>Welcome to nginx!</body></html>", "application/json"),
        ("", "application/json"),
        ('["not", "an", "object"]', "application/json"),
        ('{"id": "x", "object": "chat.completion"}', "application/json"),
        ('{"choices": null}', "application/json"),
        ('{"choices": [{"index": 0}]}', "application/json"),
        ('{"choices": ["text"]}', "application/json"),
        ('{"choices": [{"message": {"role": "assistant", "content": 42}}]}', "application/json"),
    ],
)
def test_client_unexpected_response_body(fake_openai: FakeOpenAI, body: str, content_type: str):
    fake_openai.push_raw(200, body, content_type)

    with pytest.raises(LlmError) as raised:
        LlmClient(settings_for(fake_openai)).complete(MESSAGES, SCHEMA)

    message = str(raised.value)
    assert fake_openai.base_url in message
    assert "not an OpenAI-compatible" in message
    assert "/v1" in message
    assert "\n" not in message
    assert len(fake_openai.requests) == 1, "a malformed body is not retried"


def test_client_connection_error_single_period():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = LlmSettings(base_url=f"http://127.0.0.1:{port}/v1", api_key=None, model="m", max_retries=0)

    with pytest.raises(LlmError) as raised:
        LlmClient(settings).complete(MESSAGES)

    assert ".." not in str(raised.value)


@pytest.mark.parametrize("base_url", ["notaurl", "127.0.0.1:8080/v1", "ftp://example.org/v1", "http://", "http:///v1"])
def test_settings_reject_invalid_base_url(base_url: str):
    with pytest.raises(LlmError) as raised:
        LlmSettings(base_url=base_url, api_key=None, model="m")

    assert repr(base_url) in str(raised.value)
    assert "http://127.0.0.1:8080/v1" in str(raised.value)


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080/v1", "https://api.example.org/v1", "http://localhost"])
def test_settings_accept_http_base_url(base_url: str):
    assert LlmSettings(base_url=base_url, api_key=None, model="m").base_url == base_url


def test_cache_key_covers_base_url():
    first = cache_key("m", MESSAGES, None, base_url="http://127.0.0.1:8001/v1")
    second = cache_key("m", MESSAGES, None, base_url="http://127.0.0.1:8002/v1")

    assert first != second


def test_client_cache_misses_on_other_server(fake_openai: FakeOpenAI, tmp_path):
    other = FakeOpenAI().start()
    try:
        fake_openai.push_answer(ANSWER_TEXT)
        other.push_answer(ANSWER_TEXT)
        cache = ResponseCache(tmp_path / "cache")

        LlmClient(settings_for(fake_openai), cache=cache).complete(MESSAGES, SCHEMA)
        answer = LlmClient(settings_for(other), cache=cache).complete(MESSAGES, SCHEMA)
    finally:
        other.close()

    assert answer.cached is False
    assert len(other.requests) == 1


def test_client_evicted_answer_is_sent_again(fake_openai: FakeOpenAI, tmp_path):
    fake_openai.push_answer("not the answer")
    fake_openai.push_answer(ANSWER_TEXT)
    cache = ResponseCache(tmp_path / "cache")
    client = LlmClient(settings_for(fake_openai), cache=cache)

    first = client.complete(MESSAGES, SCHEMA)
    client.evict([first])
    second = client.complete(MESSAGES, SCHEMA)

    assert second.cached is False
    assert second.text == ANSWER_TEXT
    assert len(fake_openai.requests) == 2
