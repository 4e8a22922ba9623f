"""Send prompts to an OpenAI-compatible chat completions endpoint."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import openai
from openai.types.chat import ChatCompletion

from formalize.prompt import Prompt
from kg.errors import LlmError

log = logging.getLogger(__name__)

# Sent as the bearer token when no key is configured. Local OpenAI-compatible servers
# (llama.cpp, vLLM, Ollama) ignore it, and hosted APIs reject it with HTTP 401, which
# `LlmClient` reports with the --api-key fix.
PLACEHOLDER_API_KEY = "no-key-configured"

BASE_URL_HELP = "--base-url or OPENAI_BASE_URL"
API_KEY_HELP = "--api-key or OPENAI_API_KEY"
MODEL_HELP = "--model or LEMMAGRAPH_MODEL"


@dataclass(frozen=True)
class LlmSettings:
    """Endpoint, credentials and limits of the language model, already resolved from flags and environment."""

    base_url: str | None
    api_key: str | None
    model: str | None
    timeout_seconds: float = 120.0
    max_retries: int = 2  # retries of 408, 409, 429, 5xx and connection errors, done by openai


@dataclass(frozen=True)
class LlmAnswer:
    """The text of one completion, with the model that wrote it and the token usage."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int


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
            "Example: --base-url http://127.0.0.1:8080/v1 --model qwen2.5-coder-32b."
        )


class LlmClient:
    """A chat completions client that requests JSON output and reports failures as LlmError.

    The request sets `response_format={"type": "json_object"}`. When the endpoint rejects
    the request with HTTP 400, the client sends it once more without that parameter, and
    after such a retry succeeds it leaves the parameter out of later requests too.
    """

    def __init__(self, settings: LlmSettings) -> None:
        require_endpoint(settings)
        self.settings = settings
        self.json_mode = True
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or PLACEHOLDER_API_KEY,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
        )

    @property
    def model(self) -> str:
        return self.settings.model or ""

    def complete(self, prompt: Prompt) -> LlmAnswer:
        """Send the prompt and return the answer text with token counts."""
        try:
            completion = self._create(prompt, json_mode=self.json_mode)
        except openai.BadRequestError as error:
            if not self.json_mode:
                raise self._error(error) from error
            log.warning(
                "%s rejected the request with response_format=json_object (%s). Retrying without it",
                self.settings.base_url,
                _short(str(error)),
            )
            try:
                completion = self._create(prompt, json_mode=False)
            except openai.OpenAIError as retry_error:
                raise self._error(retry_error) from retry_error
            self.json_mode = False
        except openai.OpenAIError as error:
            raise self._error(error) from error

        return self._answer(completion)

    def _create(self, prompt: Prompt, json_mode: bool) -> ChatCompletion:
        options = {"response_format": {"type": "json_object"}} if json_mode else {}
        return self._client.chat.completions.create(
            model=self.model,
            messages=prompt.messages(),
            **options,
        )

    def _answer(self, completion: ChatCompletion) -> LlmAnswer:
        if not completion.choices or completion.choices[0].message.content is None:
            raise LlmError(
                f"The model {self.model} at {self.settings.base_url} returned no message content. "
                "Check that the model serves chat completions."
            )
        choice = completion.choices[0]
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
        )

    def _error(self, error: openai.OpenAIError) -> LlmError:
        """Translate an openai exception into an LlmError that names the endpoint and the fix."""
        where = f"{self.settings.base_url} (model {self.model})"
        detail = _short(str(error))
        if isinstance(error, openai.APITimeoutError):
            return LlmError(
                f"The request to {where} timed out after {self.settings.timeout_seconds:g} s "
                f"and {self.settings.max_retries} retries. "
                "Raise timeout_seconds or use a faster model."
            )
        if isinstance(error, openai.APIConnectionError):
            return LlmError(
                f"Could not connect to {where}: {detail}. "
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
                f"{where} is still rate limiting (HTTP 429) after {self.settings.max_retries} retries: "
                f"{detail}. Wait and run again, or raise max_retries."
            )
        if isinstance(error, openai.APIStatusError):
            return LlmError(f"{where} failed with HTTP {error.status_code}: {detail}.")
        return LlmError(f"The request to {where} failed: {detail}.")


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
