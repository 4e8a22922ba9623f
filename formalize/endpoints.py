"""Model endpoints for batch formalization, read from an `[[endpoints]]` array in a TOML file.

Example (in the file given with --endpoints, or in the workspace lemmagraph.toml):

    [[endpoints]]
    name = "small"
    base_url = "http://127.0.0.1:8001/v1"
    model = "qwen2.5-coder-7b-instruct"
    api_key_env = "SMALL_API_KEY"      # or api_key = "..."; local servers need neither
    concurrency = 4                    # jobs at once
    requests_per_minute = 120          # omit for no limit
    context_window = 32768             # tokens, prompt and answer together
    price = { input = 0.15, output = 0.60 }   # USD per million tokens
    expected_seconds = 20              # estimate of one job, before any has finished; omit to measure it

Every error names the file, the endpoint and the key, and says what to write instead.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from formalize.llm import EXAMPLE_BASE_URL, LlmSettings, base_url_problem
from formalize.pricing import ModelPrice
from formalize.scheduler import EndpointLimits
from kg.errors import LemmagraphError

DEFAULT_CONCURRENCY = 2
DEFAULT_EXPECTED_SECONDS = 60.0
DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_CONTEXT_WINDOW = 32768
# Batch clients do not retry by themselves, so the batch can move a failing job to
# another endpoint at once. A single-endpoint batch may want a few retries.
DEFAULT_MAX_RETRIES = 0
DEFAULT_FAILURE_THRESHOLD = 3
DEFAULT_COOLDOWN_SECONDS = 30.0

_KNOWN_KEYS = frozenset(
    {
        "name",
        "base_url",
        "model",
        "api_key",
        "api_key_env",
        "concurrency",
        "requests_per_minute",
        "burst",
        "context_window",
        "price",
        "expected_seconds",
        "timeout_seconds",
        "max_retries",
        "failure_threshold",
        "cooldown_seconds",
    }
)


class EndpointConfigError(LemmagraphError):
    """An endpoint configuration file is missing, unreadable or has an invalid entry."""


@dataclass(frozen=True)
class Endpoint:
    """One model endpoint of a batch: where it is, which model it serves, its limits and its price."""

    name: str
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = DEFAULT_CONCURRENCY
    requests_per_minute: float | None = None
    burst: int | None = None
    context_window: int = DEFAULT_CONTEXT_WINDOW
    price: ModelPrice | None = None
    # Estimate of one job in seconds. None leaves the estimate to the batch, which tries
    # the endpoint early and then goes by its measured times.
    expected_seconds: float | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS

    def llm_settings(self) -> LlmSettings:
        return LlmSettings(
            base_url=self.base_url,
            api_key=self.api_key,
            model=self.model,
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
        )

    def limits(self) -> EndpointLimits:
        return EndpointLimits(
            name=self.name,
            concurrency=self.concurrency,
            expected_seconds=DEFAULT_EXPECTED_SECONDS if self.expected_seconds is None else self.expected_seconds,
            requests_per_minute=self.requests_per_minute,
            burst=self.burst,
            failure_threshold=self.failure_threshold,
            cooldown_seconds=self.cooldown_seconds,
            expected_seconds_configured=self.expected_seconds is not None,
        )


def load_endpoints(path: Path, environ: Mapping[str, str] | None = None) -> list[Endpoint]:
    """Read the `[[endpoints]]` array of a TOML file. Raises EndpointConfigError naming the fix."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as error:
        raise EndpointConfigError(f"endpoint file {path} not found: check the --endpoints path") from error
    except OSError as error:
        raise EndpointConfigError(f"could not read the endpoint file {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise EndpointConfigError(f"invalid TOML in the endpoint file {path}: {error}") from error
    if "endpoints" not in data:
        raise EndpointConfigError(
            f"{path} has no [[endpoints]] entries: add one [[endpoints]] table per model endpoint "
            "with at least name, base_url and model"
        )
    return parse_endpoints(data["endpoints"], str(path), environ)


def parse_endpoints(
    entries: object, source: str, environ: Mapping[str, str] | None = None
) -> list[Endpoint]:
    """Validate an `endpoints` array; `source` names the file in error messages."""
    environ = os.environ if environ is None else environ
    if not isinstance(entries, list) or not entries:
        raise EndpointConfigError(
            f"'endpoints' in {source} must be a non-empty array of tables: write each as [[endpoints]]"
        )
    endpoints: list[Endpoint] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise EndpointConfigError(f"endpoint {index + 1} in {source} is not a table: write it as [[endpoints]]")
        endpoints.append(_parse_entry(entry, _Where(source, index, entry.get("name")), environ))

    seen: set[str] = set()
    for endpoint in endpoints:
        if endpoint.name in seen:
            raise EndpointConfigError(
                f"endpoint name {endpoint.name!r} appears twice in {source}: give each endpoint its own name"
            )
        seen.add(endpoint.name)
    return endpoints


@dataclass(frozen=True)
class _Where:
    source: str
    index: int
    name: object

    def __str__(self) -> str:
        label = f"{self.name!r}" if isinstance(self.name, str) and self.name else f"number {self.index + 1}"
        return f"endpoint {label} in {self.source}"


def _parse_entry(entry: Mapping[str, object], where: _Where, environ: Mapping[str, str]) -> Endpoint:
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        raise EndpointConfigError(
            f"unknown key {unknown[0]!r} in {where}: use some of {', '.join(sorted(_KNOWN_KEYS))}"
        )
    name = _text(entry, "name", where, required=True)
    base_url = _text(entry, "base_url", where, required=True)
    problem = base_url_problem(base_url)
    if problem:
        raise EndpointConfigError(
            f"invalid base_url {base_url!r} in {where}: {problem}. "
            f"Give an http(s) URL such as {EXAMPLE_BASE_URL}"
        )
    return Endpoint(
        name=name,
        base_url=base_url,
        model=_text(entry, "model", where, required=True),
        api_key=_api_key(entry, where, environ),
        concurrency=int(_number(entry, "concurrency", where, DEFAULT_CONCURRENCY, minimum=1, whole=True)),
        requests_per_minute=_optional_number(entry, "requests_per_minute", where),
        burst=_optional_whole(entry, "burst", where),
        context_window=int(_number(entry, "context_window", where, DEFAULT_CONTEXT_WINDOW, minimum=1, whole=True)),
        price=_price(entry, where),
        expected_seconds=_optional_number(entry, "expected_seconds", where),
        timeout_seconds=_number(entry, "timeout_seconds", where, DEFAULT_TIMEOUT_SECONDS, minimum=1e-3),
        max_retries=int(_number(entry, "max_retries", where, DEFAULT_MAX_RETRIES, minimum=0, whole=True)),
        failure_threshold=int(
            _number(entry, "failure_threshold", where, DEFAULT_FAILURE_THRESHOLD, minimum=1, whole=True)
        ),
        cooldown_seconds=_number(entry, "cooldown_seconds", where, DEFAULT_COOLDOWN_SECONDS, minimum=0),
    )


def _text(entry: Mapping[str, object], key: str, where: _Where, required: bool = False) -> str:
    value = entry.get(key)
    if value is None and required:
        raise EndpointConfigError(f"missing {key} in {where}: add {key} = \"...\"")
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise EndpointConfigError(f"invalid {key} {value!r} in {where}: give a non-empty string")
    return (value or "").strip()


def _api_key(entry: Mapping[str, object], where: _Where, environ: Mapping[str, str]) -> str | None:
    if "api_key" in entry and "api_key_env" in entry:
        raise EndpointConfigError(f"{where} sets both api_key and api_key_env: keep one of them")
    if "api_key_env" in entry:
        variable = _text(entry, "api_key_env", where)
        value = environ.get(variable)
        if not value:
            raise EndpointConfigError(
                f"environment variable {variable} named by api_key_env in {where} is not set: "
                f"export {variable}=... or remove api_key_env for a server that needs no key"
            )
        return value
    return _text(entry, "api_key", where) or None


def _number(
    entry: Mapping[str, object],
    key: str,
    where: _Where,
    default: float,
    minimum: float,
    whole: bool = False,
) -> float:
    value = entry.get(key, default)
    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
        raise EndpointConfigError(f"invalid {key} {value!r} in {where}: give {kind} of at least {minimum:g}")
    if value < minimum:
        raise EndpointConfigError(f"invalid {key} {value!r} in {where}: it must be at least {minimum:g}")
    return float(value)


def _optional_number(entry: Mapping[str, object], key: str, where: _Where) -> float | None:
    if key not in entry:
        return None
    value = _number(entry, key, where, 0.0, minimum=0.0)
    if value <= 0:
        raise EndpointConfigError(f"invalid {key} {value:g} in {where}: give a positive number, or omit it")
    return value


def _optional_whole(entry: Mapping[str, object], key: str, where: _Where) -> int | None:
    if key not in entry:
        return None
    return int(_number(entry, key, where, 1, minimum=1, whole=True))


def _price(entry: Mapping[str, object], where: _Where) -> ModelPrice | None:
    table = entry.get("price")
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise EndpointConfigError(
            f"invalid price {table!r} in {where}: write price = {{ input = 0.15, output = 0.60 }} "
            "(USD per million tokens)"
        )
    values = []
    for key in ("input", "output"):
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise EndpointConfigError(
                f"invalid price.{key} {value!r} in {where}: give a non-negative number of USD per million tokens"
            )
        values.append(float(value))
    return ModelPrice(*values)


def escalation_tiers(names: Sequence[str], endpoints: Sequence[Endpoint]) -> list[list[str]]:
    """Turn `--escalate small,large` into tiers of endpoint names.

    Each name selects the endpoint of that name, or else every endpoint serving a
    model of that name. Raises EndpointConfigError for a name that matches nothing
    or an endpoint that appears in two tiers.
    """
    tiers: list[list[str]] = []
    used: set[str] = set()
    for name in names:
        matched = [endpoint.name for endpoint in endpoints if endpoint.name == name]
        if not matched:
            matched = [endpoint.name for endpoint in endpoints if endpoint.model == name]
        if not matched:
            raise EndpointConfigError(
                f"--escalate names {name!r}, which is neither an endpoint nor a model: {_known_names(endpoints)}"
            )
        repeated = used.intersection(matched)
        if repeated:
            raise EndpointConfigError(f"--escalate lists endpoint {sorted(repeated)[0]!r} twice: list each once")
        used.update(matched)
        tiers.append(matched)
    return tiers


def _known_names(endpoints: Sequence[Endpoint]) -> str:
    """Describe the names --escalate accepts, such as "endpoints: default; models: fake"."""
    endpoint_names = ", ".join(endpoint.name for endpoint in endpoints)
    models = ", ".join(sorted({endpoint.model for endpoint in endpoints}))
    return f"the endpoint names are {endpoint_names}, and the model names are {models}"
