"""Settings resolved once at command-line entry.

Precedence for every value: command-line flag, then the workspace config file
(`lemmagraph.toml` in the home folder), then environment variables, then the
default. Nothing here runs at import time.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from formalize.pricing import ModelPrice, parse_prices
from kg.errors import LemmagraphError

CONFIG_FILE_NAME = "lemmagraph.toml"
STORE_BACKENDS = ("embedded", "neo4j")
DEFAULT_CONTEXT_WINDOW = 32768
DEFAULT_REPAIR_ROUNDS = 2
DEFAULT_MAX_RETRIES = 3
DEFAULT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Settings:
    home: Path
    store: str
    llm_base_url: str | None
    llm_api_key: str | None
    llm_model: str | None
    llm_timeout_seconds: float  # positive and finite
    llm_max_retries: int = DEFAULT_MAX_RETRIES
    context_window: int = DEFAULT_CONTEXT_WINDOW  # tokens the model accepts, prompt and answer together
    repair_rounds: int = DEFAULT_REPAIR_ROUNDS
    prices: dict[str, ModelPrice] = field(default_factory=dict)  # model -> USD per million tokens
    use_llm_cache: bool = True
    semantic_review: bool = True
    neo4j_uri: str | None = None  # such as bolt://127.0.0.1:7687 or neo4j+s://xxxx.databases.neo4j.io
    neo4j_username: str | None = None
    neo4j_password: str | None = field(default=None, repr=False)
    neo4j_database: str | None = None  # None selects the server's default database


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("lemmagraph"))


def resolve_settings(
    flags: Mapping[str, object],
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from flags (None when not given), config file, environment and defaults."""
    environ = os.environ if environ is None else environ

    home_value = flags.get("home") or environ.get("LEMMAGRAPH_HOME")
    home = Path(str(home_value)).expanduser() if home_value else default_home()
    config = _read_config(home / CONFIG_FILE_NAME)
    llm_config = config.get("llm", {})
    neo4j_config = config.get("neo4j", {})

    def pick(flag: str, section: Mapping[str, object], key: str, variables: tuple[str, ...]):
        if flags.get(flag) is not None:
            return flags[flag]
        if section.get(key) is not None:
            return section[key]
        for variable in variables:
            if environ.get(variable):
                return environ[variable]
        return None

    store = pick("store", config, "store", ("LEMMAGRAPH_STORE",)) or "embedded"
    if store not in STORE_BACKENDS:
        raise LemmagraphError(
            f"invalid store {store!r}: use one of {', '.join(STORE_BACKENDS)} "
            "(flag --store, config key 'store' or LEMMAGRAPH_STORE)"
        )
    timeout = pick("timeout", llm_config, "timeout_seconds", ("LEMMAGRAPH_LLM_TIMEOUT",))
    if flags.get("timeout") is not None:
        timeout_origin = "--timeout"
    elif llm_config.get("timeout_seconds") is not None:
        timeout_origin = f"[llm] timeout_seconds in {home / CONFIG_FILE_NAME}"
    else:
        timeout_origin = "LEMMAGRAPH_LLM_TIMEOUT"
    timeout_seconds = _positive_seconds(timeout, DEFAULT_TIMEOUT_SECONDS, "LLM timeout", timeout_origin)

    context_window = _whole_number(
        pick("context_window", llm_config, "context_window", ("LEMMAGRAPH_CONTEXT_WINDOW",)),
        DEFAULT_CONTEXT_WINDOW,
        "context window",
        "--context-window, [llm] context_window or LEMMAGRAPH_CONTEXT_WINDOW",
        minimum=1,
    )
    repair_rounds = _whole_number(
        pick("repair_rounds", llm_config, "repair_rounds", ("LEMMAGRAPH_REPAIR_ROUNDS",)),
        DEFAULT_REPAIR_ROUNDS,
        "number of repair rounds",
        "--repair-rounds, [llm] repair_rounds or LEMMAGRAPH_REPAIR_ROUNDS",
        minimum=0,
    )
    max_retries = _whole_number(
        pick("max_retries", llm_config, "max_retries", ("LEMMAGRAPH_LLM_MAX_RETRIES",)),
        DEFAULT_MAX_RETRIES,
        "number of LLM retries",
        "[llm] max_retries or LEMMAGRAPH_LLM_MAX_RETRIES",
        minimum=0,
    )
    prices_table = config.get("prices", {})
    if not isinstance(prices_table, Mapping):
        raise LemmagraphError(f"invalid [prices] in {home / CONFIG_FILE_NAME}: expected a table of models")

    return Settings(
        home=home,
        store=str(store),
        llm_base_url=pick("base_url", llm_config, "base_url", ("OPENAI_BASE_URL",)),
        llm_api_key=pick("api_key", llm_config, "api_key", ("OPENAI_API_KEY",)),
        llm_model=pick("model", llm_config, "model", ("LEMMAGRAPH_MODEL",)),
        llm_timeout_seconds=timeout_seconds,
        llm_max_retries=max_retries,
        context_window=context_window,
        repair_rounds=repair_rounds,
        prices=parse_prices(prices_table),
        use_llm_cache=not flags.get("no_cache"),
        semantic_review=not flags.get("no_review"),
        neo4j_uri=pick("neo4j_uri", neo4j_config, "uri", ("NEO4J_URI",)),
        neo4j_username=pick("neo4j_username", neo4j_config, "username", ("NEO4J_USERNAME",)),
        neo4j_password=pick("neo4j_password", neo4j_config, "password", ("NEO4J_PASSWORD",)),
        neo4j_database=pick("neo4j_database", neo4j_config, "database", ("NEO4J_DATABASE",)),
    )


def _positive_seconds(value: object, default: float, setting_name: str, origin: str) -> float:
    """Convert a setting to a positive, finite number of seconds, or raise naming where it is set."""
    if value is None:
        return default
    try:
        # TOML reads `true` as a bool, which float() would take for 1 second.
        seconds = math.nan if isinstance(value, bool) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise LemmagraphError(
            f"invalid {setting_name} {value!r} from {origin}: give a positive number of seconds, such as 120"
        )
    return seconds


def _whole_number(value: object, default: int, setting_name: str, where: str, minimum: int) -> int:
    """Convert a setting to an int of at least `minimum`, or raise naming where it is set."""
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError as error:
        raise LemmagraphError(f"invalid {setting_name} {value!r}: give a whole number ({where})") from error
    if number < minimum:
        raise LemmagraphError(f"invalid {setting_name} {number}: it must be at least {minimum} ({where})")
    return number


# The keys a config file may hold, so that a misspelt key is reported instead of ignored.
_CONFIG_KEYS = {
    "": {"store", "llm", "neo4j", "prices", "endpoints"},
    "llm": {"base_url", "api_key", "model", "timeout_seconds", "max_retries", "context_window", "repair_rounds"},
    "neo4j": {"uri", "username", "password", "database"},
}


def _read_config(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise LemmagraphError(f"invalid config file {path}: {error}; fix or remove it") from error

    for table, known in _CONFIG_KEYS.items():
        section = config.get(table, {}) if table else config
        if not isinstance(section, dict):
            raise LemmagraphError(f"invalid config file {path}: [{table}] must be a table")
        for key in section:
            if key not in known:
                where = f"[{table}] " if table else ""
                raise LemmagraphError(
                    f"unknown key {where}{key!r} in config file {path}: "
                    f"use one of {', '.join(sorted(known))}"
                )
    return config
