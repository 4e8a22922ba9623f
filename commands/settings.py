"""Settings resolved once at command-line entry.

Precedence for every value: command-line flag, then the workspace config file
(`lemmagraph.toml` in the home folder), then environment variables, then the
default. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kg.errors import LemmagraphError

CONFIG_FILE_NAME = "lemmagraph.toml"
STORE_BACKENDS = ("embedded", "neo4j")


@dataclass(frozen=True)
class Settings:
    home: Path
    store: str
    llm_base_url: str | None
    llm_api_key: str | None
    llm_model: str | None
    llm_timeout_seconds: float


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
    try:
        timeout_seconds = float(timeout) if timeout is not None else 120.0
    except ValueError as error:
        raise LemmagraphError(
            f"invalid LLM timeout {timeout!r}: give a number of seconds"
        ) from error

    return Settings(
        home=home,
        store=str(store),
        llm_base_url=pick("base_url", llm_config, "base_url", ("OPENAI_BASE_URL",)),
        llm_api_key=pick("api_key", llm_config, "api_key", ("OPENAI_API_KEY",)),
        llm_model=pick("model", llm_config, "model", ("LEMMAGRAPH_MODEL",)),
        llm_timeout_seconds=timeout_seconds,
    )


def _read_config(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise LemmagraphError(f"invalid config file {path}: {error}; fix or remove it") from error
