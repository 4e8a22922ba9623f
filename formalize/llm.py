"""Send chat requests to an OpenAI-compatible chat completions endpoint."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessage

from formalize.llm_cache import ResponseCache, cache_key
from kg.errors import LlmError

log = logging.getLogger(__name__)

# Sent as the bearer token when no key is configured. Local OpenAI-compatible servers
# (llama.cpp, vLLM, Ollama) ignore it, and hosted APIs reject it with HTTP 401, which
# `LlmClient` reports with the --api-key fix.
PLACEHOLDER_API_KEY = "no-key-configured"

BASE_URL_HELP = "--base-url or OPENAI_BASE_URL"
API_KEY_HELP = "--api-key or OPENAI_API_KEY"
MODEL_HELP = "--model or LEMMAGRAPH_MODEL"

# Structured output modes, strongest first. A client steps down one mode when the
# endpoint rejects a request with HTTP 400 and stays there after a success.
JSON_SCHEMA = "json_schema"
JSON_OBJECT = "json_object"
PLAIN = "none"
OUTPUT_MODES: tuple[str, ...] = (JSON_SCHEMA, JSON_OBJECT, PLAIN)

RETRYABLE_STATUSES = frozenset({408, 409, 429})
EXAMPLE_BASE_URL = "http://127.0.0.1:8080/v1"


def base_url_problem(value: str) -> str | None:
    """Return why `value` cannot be an endpoint's base URL, or None when it is an http(s) URL with a host."""
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as error:
        return f"it is not a valid URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it has no host name"
    return None


@dataclass(frozen=True)
class LlmSettings:
    """Endpoint, credentials and limits of the language model, already resolved from flags and environment.

    A request that times out, cannot connect, or gets HTTP 408, 409, 429 or 5xx is sent
    again up to `max_retries` times. The wait before retry n (from 0) is the server's
    Retry-After when it sends one, else `backoff_seconds * 2**n`, and never more than
    `max_wait_seconds`.
    """

    base_url: str | None
    api_key: str | None
    model: str | None
    timeout_seconds: float = 120.0
    max_retries: int = 3
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.base_url:
            problem = base_url_problem(self.base_url)
            if problem:
                raise LlmError(
                    f"Invalid endpoint URL {self.base_url!r} ({BASE_URL_HELP}): {problem}. "
                    f"Give the server's OpenAI-compatible API prefix, such as {EXAMPLE_BASE_URL}."
                )


@dataclass(frozen=True)
class ResponseSchema:
    """A JSON schema that the answer must follow, sent as structured output when supported."""

    name: str
    schema: dict[str, Any]

    def response_format(self, mode: str) -> dict[str, Any] | None:
        """Return the `response_format` request parameter of an output mode."""
        if mode == JSON_SCHEMA:
            return {
                "type": "json_schema",
                "json_schema": {"name": self.name, "schema": self.schema, "strict": True},
            }
        if mode == JSON_OBJECT:
            return {"type": "json_object"}
        return None


@dataclass(frozen=True)
class LlmAnswer:
    """The text of one completion, with the model that wrote it, the token usage and where it came from.

    `output_mode` is the structured output mode of the request that produced the text.
    `cached` is true when the answer was read from the response cache and no request was sent.
    `cache_key` is the answer's key in the response cache, empty when no cache was used.
    """

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    output_mode: str = PLAIN
    cached: bool = False
    cache_key: str = ""


def require_endpoint(settings: LlmSettings) -> None:
    """Raise LlmError naming the flags and variables to set when no endpoint is configured.

    A base URL and a model are required. The API key is optional because local servers
    need none.
    """
    missing = []
    if not settings.base_url:
        missing.append(f"the endpoint URL ({BASE_URL_HELP})")
    if not settings.model:
        missing.append(f"the model name ({MODEL_HELP})")
    if missing:
        raise LlmError(
            f"No language model is configured: set {' and '.join(missing)}. "
            f"Hosted APIs also need a key ({API_KEY_HELP}). "
            f"Example: --base-url {EXAMPLE_BASE_URL} --model qwen2.5-coder-32b."
        )


class LlmClient:
    """A chat completions client with structured output, retries and a response cache.

    Each request uses the strongest output mode the endpoint has not rejected:
    a JSON schema, then a JSON object, then plain text. Answers are cached under the
    base URL, the model, the full messages and the schema, so the key does not depend
    on the mode that the endpoint ended up accepting. A caller that finds an answer
    unusable removes it with `evict`, so that the same request is sent again.
    """

    def __init__(
        self,
        settings: LlmSettings,
        cache: ResponseCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        require_endpoint(settings)
        self.settings = settings
        self.cache = cache
        self.mode = JSON_SCHEMA
        self._sleep = sleep
        # Retries are done here rather than by openai, so that the wait honours
        # Retry-After in seconds or as an HTTP date and is bounded.
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or PLACEHOLDER_API_KEY,
            timeout=settings.timeout_seconds,
            max_retries=0,
        )

    @property
    def model(self) -> str:
        return self.settings.model or ""

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        schema: ResponseSchema | None = None,
    ) -> LlmAnswer:
        """Send the messages and return the answer, from the cache when the same request was answered before."""
        requested_format = schema.response_format(JSON_SCHEMA) if schema else {"type": "json_object"}
        if self.cache is None:
            return self._complete_with_fallback(messages, schema)

        key = cache_key(self.model, messages, requested_format, base_url=self.settings.base_url or "")
        record = self.cache.get(key)
        if record is not None:
            log.info("Answer of %s read from the response cache (%s)", self.model, key[:12])
            return replace(_answer_from_record(record), cache_key=key)

        answer = replace(self._complete_with_fallback(messages, schema), cache_key=key)
        self.cache.put(key, _record_from_answer(answer, self.model, requested_format))
        return answer

    def evict(self, answers: Iterable[LlmAnswer]) -> None:
        """Remove these answers from the response cache, so the next identical request is sent again."""
        if self.cache is None:
            return
        for answer in answers:
            if answer.cache_key:
                self.cache.delete(answer.cache_key)

    def _complete_with_fallback(
        self,
        messages: Sequence[Mapping[str, str]],
        schema: ResponseSchema | None,
    ) -> LlmAnswer:
        modes = list(OUTPUT_MODES[OUTPUT_MODES.index(self.mode) :])
        if schema is None and JSON_SCHEMA in modes:
            modes.remove(JSON_SCHEMA)
        rejected = False
        for mode in modes:
            try:
                completion = self._send(messages, _response_format(schema, mode))
            except openai.BadRequestError as error:
                if mode == PLAIN:
                    raise self._error(error) from error
                log.warning(
                    "%s rejected the request with output mode %s (%s). Retrying with a weaker mode",
                    self.settings.base_url,
                    mode,
                    _short(str(error)),
                )
                rejected = True
                continue
            except openai.OpenAIError as error:
                raise self._error(error) from error
            except json.JSONDecodeError as error:
                # openai parses a body sent as application/json without catching this.
                raise self._malformed(f"invalid JSON ({error.msg} at character {error.pos})") from error
            if rejected:
                # The mode only moves after a success, so a 400 for another reason
                # (a prompt that is too long) does not weaken later requests.
                log.info("Using output mode %s for %s from now on", mode, self.settings.base_url)
                self.mode = mode
            return self._answer(completion, mode)
        raise AssertionError("unreachable: the PLAIN mode either returns or raises")

    def _send(
        self,
        messages: Sequence[Mapping[str, str]],
        response_format: dict[str, Any] | None,
    ) -> ChatCompletion:
        """Send one request, retrying rate limits, server errors and timeouts with backoff."""
        options = {"response_format": response_format} if response_format else {}
        retry = 0
        while True:
            try:
                return self._client.chat.completions.create(
                    model=self.model,
                    messages=list(messages),
                    **options,
                )
            except (openai.APIStatusError, openai.APIConnectionError) as error:
                if retry >= self.settings.max_retries or not _retryable(error):
                    raise
                wait = self._wait_seconds(error, retry)
                retry += 1
                log.warning(
                    "Request to %s failed (%s); retry %d of %d in %.2f s",
                    self.settings.base_url,
                    _short(str(error), 120),
                    retry,
                    self.settings.max_retries,
                    wait,
                )
                self._sleep(wait)

    def _wait_seconds(self, error: openai.OpenAIError, retry: int) -> float:
        backoff = self.settings.backoff_seconds * 2**retry
        if isinstance(error, openai.APIStatusError):
            server_wait = retry_after_seconds(error.response.headers)
            if server_wait is not None:
                backoff = server_wait
        return max(0.0, min(backoff, self.settings.max_wait_seconds))

    def _malformed(self, detail: str) -> LlmError:
        return LlmError(
            f"{self.settings.base_url} (model {self.model}) returned a body that is not an OpenAI-compatible "
            f"JSON response: {detail}. Check that the base URL ({BASE_URL_HELP}) is the API prefix of an "
            f"OpenAI-compatible server, which usually ends in /v1, such as {EXAMPLE_BASE_URL}."
        )

    def _answer(self, completion: object, mode: str) -> LlmAnswer:
        # openai builds the completion without validating it, and returns the body as a
        # string when the Content-Type is not JSON, so every field is checked here.
        if isinstance(completion, str):
            raise self._malformed(f"it starts with {_short(completion, 80)!r}")
        if not isinstance(completion, ChatCompletion):
            raise self._malformed(f"the body is a JSON {type(completion).__name__}, not an object")
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list):
            raise self._malformed("the body has no 'choices' list")
        if choices and not isinstance(getattr(choices[0], "message", None), ChatCompletionMessage):
            raise self._malformed("the first choice has no 'message' object")
        if not choices or choices[0].message.content is None:
            raise LlmError(
                f"The model {self.model} at {self.settings.base_url} returned no message content. "
                "Check that the model serves chat completions."
            )
        choice = choices[0]
        if not isinstance(choice.message.content, str):
            raise self._malformed("the message content is not a string")
        if choice.finish_reason == "length":
            log.warning(
                "The completion of %s stopped at the token limit, so the Lean code may be cut off",
                self.model,
            )
        usage = completion.usage
        return LlmAnswer(
            text=choice.message.content,
            model=completion.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            output_mode=mode,
        )

    def _error(self, error: openai.OpenAIError) -> LlmError:
        """Translate an openai exception into an LlmError that names the endpoint and the fix."""
        where = f"{self.settings.base_url} (model {self.model})"
        # The openai messages end with a period, and the templates below add their own.
        detail = _short(str(error)).rstrip(".")
        retries = self.settings.max_retries
        if isinstance(error, openai.APITimeoutError):
            return LlmError(
                f"The request to {where} timed out after {self.settings.timeout_seconds:g} s "
                f"and {retries} retries. Raise the timeout (--timeout) or use a faster model."
            )
        if isinstance(error, openai.APIConnectionError):
            return LlmError(
                f"Could not connect to {where} after {retries} retries: {detail}. "
                f"Check {BASE_URL_HELP} and that the server is running."
            )
        if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return LlmError(
                f"{where} rejected the API key (HTTP {error.status_code}): {detail}. "
                f"Set a valid key with {API_KEY_HELP}."
            )
        if isinstance(error, openai.NotFoundError):
            return LlmError(
                f"{where} returned HTTP 404: {detail}. Check the model name ({MODEL_HELP}) "
                f"and that the base URL ({BASE_URL_HELP}) ends with the API prefix, usually /v1."
            )
        if isinstance(error, openai.RateLimitError):
            return LlmError(
                f"{where} is still rate limiting (HTTP 429) after {retries} retries: "
                f"{detail}. Wait and run again, or raise max_retries."
            )
        if isinstance(error, openai.APIStatusError):
            return LlmError(f"{where} failed with HTTP {error.status_code} after {retries} retries: {detail}.")
        return LlmError(f"The request to {where} failed: {detail}.")


def _response_format(schema: ResponseSchema | None, mode: str) -> dict[str, Any] | None:
    if schema is not None:
        return schema.response_format(mode)
    return {"type": "json_object"} if mode == JSON_OBJECT else None


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Return the wait a server asked for, from `retry-after-ms` or `Retry-After`, or None.

    `Retry-After` may be a number of seconds or an HTTP date (RFC 9110, section 10.2.3).
    """
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _retryable(error: openai.OpenAIError) -> bool:
    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in RETRYABLE_STATUSES or error.status_code >= 500
    return False


def _record_from_answer(answer: LlmAnswer, requested_model: str, requested_format: object) -> dict[str, Any]:
    return {
        "requested_model": requested_model,
        "requested_format": requested_format,
        "text": answer.text,
        "model": answer.model,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "output_mode": answer.output_mode,
        "stored_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _answer_from_record(record: Mapping[str, Any]) -> LlmAnswer:
    return LlmAnswer(
        text=str(record.get("text", "")),
        model=str(record.get("model", "")),
        prompt_tokens=int(record.get("prompt_tokens", 0)),
        completion_tokens=int(record.get("completion_tokens", 0)),
        output_mode=str(record.get("output_mode", PLAIN)),
        cached=True,
    )


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
