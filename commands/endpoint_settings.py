"""Choose the model endpoints of `formalize`: an `[[endpoints]]` array, or the single LLM settings."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from commands.services import Services
from commands.settings import CONFIG_FILE_NAME
from formalize.endpoints import DEFAULT_CONCURRENCY, Endpoint, load_endpoints
from formalize.llm import require_endpoint
from formalize.pricing import ModelPrice
from kg.errors import LlmError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT_NAME = "default"
ENDPOINTS_HINT = (
    "Or list model endpoints in an [[endpoints]] array, in the workspace lemmagraph.toml or in a file given "
    "with --endpoints; one item is then formalized on the first endpoint."
)
# The flags of the single LLM endpoint, each with the [[endpoints]] key that an endpoint uses instead.
_ENDPOINT_KEYS = {
    "base_url": ("--base-url", "base_url"),
    "model": ("--model", "model"),
    "api_key": ("--api-key", "api_key or api_key_env"),
    "timeout": ("--timeout", "timeout_seconds"),
    "context_window": ("--context-window", "context_window"),
}


@dataclass(frozen=True)
class EndpointChoice:
    """The endpoints of a run and the file of their `[[endpoints]]` array; `source` is None for the single LLM settings."""

    endpoints: list[Endpoint]
    source: Path | None


def configured_endpoints(services: Services, endpoints_file: Path | None) -> EndpointChoice | None:
    """Return the `[[endpoints]]` of --endpoints, else of the workspace config, or None when neither has any."""
    if endpoints_file is not None:
        return EndpointChoice(load_endpoints(endpoints_file), endpoints_file)
    workspace_config = services.settings.home / CONFIG_FILE_NAME
    if workspace_config.is_file():
        # resolve_settings has already rejected a config file that is not valid TOML.
        with workspace_config.open("rb") as handle:
            if "endpoints" in tomllib.load(handle):
                return EndpointChoice(load_endpoints(workspace_config), workspace_config)
    return None


def batch_endpoints(services: Services, endpoints_file: Path | None) -> EndpointChoice:
    """Return the endpoints of a batch: from --endpoints, else the workspace config, else the single LLM settings."""
    configured = configured_endpoints(services, endpoints_file)
    if configured is not None:
        return configured

    llm = services.llm_settings()
    require_endpoint(llm)
    settings = services.settings
    default = Endpoint(
        name=DEFAULT_ENDPOINT_NAME,
        base_url=llm.base_url or "",
        model=llm.model or "",
        api_key=llm.api_key,
        concurrency=DEFAULT_CONCURRENCY,
        context_window=settings.context_window,
        price=settings.prices.get(llm.model or ""),
        timeout_seconds=llm.timeout_seconds,
        # With no other endpoint to move a job to, the client's own retries are the only ones.
        max_retries=llm.max_retries,
    )
    return EndpointChoice([default], None)


def single_item_endpoint(
    services: Services, endpoints_file: Path | None, flags: Mapping[str, object]
) -> EndpointChoice | None:
    """Return the endpoint that formalizes one item, or None to use the single LLM settings.

    --endpoints selects the first endpoint of its file. Without it, the single LLM
    settings apply when they name a URL and a model, or when --base-url or --model is
    given. Otherwise the first `[[endpoints]]` entry of the workspace config applies.
    Raises LlmError naming both ways to configure a model when neither is configured.
    """
    if endpoints_file is None:
        llm = services.llm_settings()
        if (llm.base_url and llm.model) or flags.get("base_url") or flags.get("model"):
            return None
    configured = configured_endpoints(services, endpoints_file)
    if configured is None:
        try:
            require_endpoint(services.llm_settings())
        except LlmError as error:
            raise LlmError(f"{error} {ENDPOINTS_HINT}") from error
        return None
    first = configured.endpoints[0]
    log.info("Formalizing on endpoint %s (%s at %s) from %s", first.name, first.model, first.base_url,
             configured.source)
    return EndpointChoice([first], configured.source)


def ignored_flag_warnings(flags: Mapping[str, object], choice: EndpointChoice) -> list[str]:
    """Return one warning per single-endpoint flag that the `[[endpoints]]` of `choice` make ineffective."""
    if choice.source is None:
        return []
    return [
        f"{flag} is ignored because the endpoints come from {choice.source}: "
        f"set {key} in its [[endpoints]] entries instead"
        for name, (flag, key) in _ENDPOINT_KEYS.items()
        if flags.get(name) is not None
    ]


def unused_endpoint_warnings(choice: EndpointChoice, tiers: Sequence[Sequence[str]] | None) -> list[str]:
    """Return a warning for each endpoint that --escalate leaves out, which the batch then never uses."""
    if tiers is None:
        return []
    listed = {name for tier in tiers for name in tier}
    return [
        f"endpoint {endpoint.name} (model {endpoint.model}) is not named by --escalate, "
        "so this batch does not use it: add its name to --escalate to use it"
        for endpoint in choice.endpoints
        if endpoint.name not in listed
    ]


def unpriced_endpoints(endpoints: Sequence[Endpoint], prices: Mapping[str, ModelPrice]) -> set[str]:
    """Return the names of the endpoints with no price of their own and no `[prices]` entry for their model."""
    return {endpoint.name for endpoint in endpoints if endpoint.price is None and endpoint.model not in prices}
