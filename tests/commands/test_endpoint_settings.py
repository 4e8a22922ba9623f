"""Which endpoints `formalize` uses, and the warnings about flags and endpoints it does not use."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.endpoint_settings import (
    EndpointChoice,
    ignored_flag_warnings,
    single_item_endpoint,
    unpriced_endpoints,
    unused_endpoint_warnings,
)
from commands.services import Services
from commands.settings import resolve_settings
from formalize.endpoints import Endpoint
from formalize.pricing import ModelPrice
from kg.errors import LlmError

ENDPOINTS = (
    '[[endpoints]]\nname = "small"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "small-model"\n'
    "timeout_seconds = 7\ncontext_window = 4096\n\n"
    '[[endpoints]]\nname = "large"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "large-model"\n'
)


def services(home: Path, environ: dict[str, str] | None = None, **flags) -> Services:
    return Services(resolve_settings({"home": home, **flags}, environ=environ or {}))


def test_single_item_uses_first_workspace_endpoint(tmp_path: Path):
    (tmp_path / "lemmagraph.toml").write_text(ENDPOINTS)

    choice = single_item_endpoint(services(tmp_path), None, {})

    assert choice is not None
    assert [endpoint.name for endpoint in choice.endpoints] == ["small"]
    assert choice.source == tmp_path / "lemmagraph.toml"


def test_single_item_prefers_llm_settings(tmp_path: Path):
    (tmp_path / "lemmagraph.toml").write_text(ENDPOINTS)
    environ = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "LEMMAGRAPH_MODEL": "m"}

    assert single_item_endpoint(services(tmp_path, environ), None, {}) is None


def test_single_item_model_flag_keeps_llm_settings(tmp_path: Path):
    (tmp_path / "lemmagraph.toml").write_text(ENDPOINTS)

    assert single_item_endpoint(services(tmp_path, model="m"), None, {"model": "m"}) is None


def test_single_item_endpoints_flag(tmp_path: Path):
    endpoints_file = tmp_path / "endpoints.toml"
    endpoints_file.write_text(ENDPOINTS)
    environ = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "LEMMAGRAPH_MODEL": "m"}

    choice = single_item_endpoint(services(tmp_path / "home", environ), endpoints_file, {})

    assert choice is not None
    assert choice.endpoints[0].model == "small-model"


def test_no_model_mentions_endpoints(tmp_path: Path):
    with pytest.raises(LlmError) as raised:
        single_item_endpoint(services(tmp_path), None, {})

    assert "No language model is configured" in str(raised.value)
    assert "[[endpoints]]" in str(raised.value)


def test_formalizer_on_endpoint_uses_its_settings(tmp_path: Path):
    (tmp_path / "lemmagraph.toml").write_text(ENDPOINTS)
    pipeline = services(tmp_path)
    choice = single_item_endpoint(pipeline, None, {})

    formalizer = pipeline.formalizer(choice.endpoints[0])

    assert formalizer.client.model == "small-model"
    assert formalizer.client.settings.timeout_seconds == 7
    assert formalizer.client.settings.max_retries == 3, "one item retries as [llm] max_retries says"
    assert formalizer.builder.context_window == 4096


def test_ignored_flags_named_once(tmp_path: Path):
    choice = EndpointChoice([Endpoint("small", "http://127.0.0.1:9/v1", "m")], tmp_path / "endpoints.toml")
    flags = {"timeout": 5.0, "context_window": 4096, "base_url": "http://x/v1", "model": "x", "api_key": None,
             "repair_rounds": 1}

    warnings = ignored_flag_warnings(flags, choice)

    by_flag = {warning.split()[0]: warning for warning in warnings}
    assert len(warnings) == 4
    assert set(by_flag) == {"--timeout", "--context-window", "--base-url", "--model"}
    assert "set timeout_seconds in its [[endpoints]] entries" in by_flag["--timeout"]
    assert "set context_window in its [[endpoints]] entries" in by_flag["--context-window"]
    assert "set base_url in its [[endpoints]] entries" in by_flag["--base-url"]
    assert str(tmp_path / "endpoints.toml") in by_flag["--model"]


def test_llm_flags_apply_without_endpoints():
    choice = EndpointChoice([Endpoint("default", "http://127.0.0.1:9/v1", "m")], None)

    assert ignored_flag_warnings({"timeout": 5.0}, choice) == []


def test_endpoint_left_out_of_escalate_warned(tmp_path: Path):
    endpoints = [Endpoint(name, "http://127.0.0.1:9/v1", f"{name}-model") for name in ("small", "mid", "large")]
    choice = EndpointChoice(endpoints, tmp_path / "endpoints.toml")

    warnings = unused_endpoint_warnings(choice, [["small"], ["large"]])

    assert warnings == [
        "endpoint mid (model mid-model) is not named by --escalate, so this batch does not use it: "
        "add its name to --escalate to use it"
    ]
    assert unused_endpoint_warnings(choice, None) == []


def test_unpriced_endpoints():
    endpoints = [
        Endpoint("own-price", "http://127.0.0.1:9/v1", "a", price=ModelPrice(1.0, 2.0)),
        Endpoint("table-price", "http://127.0.0.1:9/v1", "b"),
        Endpoint("no-price", "http://127.0.0.1:9/v1", "c"),
    ]

    assert unpriced_endpoints(endpoints, {"b": ModelPrice(0.1, 0.2)}) == {"no-price"}
