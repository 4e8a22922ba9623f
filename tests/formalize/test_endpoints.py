"""Endpoint configuration files: valid entries, and errors that name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from formalize.endpoints import DEFAULT_EXPECTED_SECONDS, EndpointConfigError, escalation_tiers, load_endpoints
from formalize.pricing import ModelPrice

VALID = """
[[endpoints]]
name = "small"
base_url = "http://127.0.0.1:8001/v1"
model = "small-model"
api_key_env = "SMALL_KEY"
concurrency = 4
requests_per_minute = 120
context_window = 16384
price = { input = 0.15, output = 0.6 }
expected_seconds = 12

[[endpoints]]
name = "large"
base_url = "http://127.0.0.1:8002/v1"
model = "large-model"
api_key = "secret"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "endpoints.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_parsed(tmp_path):
    small, large = load_endpoints(write(tmp_path, VALID), environ={"SMALL_KEY": "k1"})

    assert (small.name, small.model, small.api_key) == ("small", "small-model", "k1")
    assert (small.concurrency, small.requests_per_minute, small.context_window) == (4, 120.0, 16384)
    assert small.price == ModelPrice(0.15, 0.6)
    assert small.expected_seconds == 12.0
    assert large.api_key == "secret"
    assert large.requests_per_minute is None
    assert large.price is None


def test_expected_seconds_configured_or_default(tmp_path):
    small, large = load_endpoints(write(tmp_path, VALID), environ={"SMALL_KEY": "k1"})

    configured = small.limits()
    default = large.limits()

    assert (configured.expected_seconds, configured.expected_seconds_configured) == (12.0, True)
    assert large.expected_seconds is None
    assert (default.expected_seconds, default.expected_seconds_configured) == (DEFAULT_EXPECTED_SECONDS, False)


def test_api_key_not_in_repr(tmp_path):
    endpoints = load_endpoints(write(tmp_path, VALID), environ={"SMALL_KEY": "k1"})

    assert "secret" not in repr(endpoints)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID, "environment variable SMALL_KEY named by api_key_env in endpoint 'small'"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\n', "missing model in endpoint 'a'"),
        ('[[endpoints]]\nname = "a"\nbase_url = "x"\nmodel = "m"\n', "invalid base_url 'x'"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http:///v1"\nmodel = "m"\n', "it has no host name"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\nmodel = "m"\nconcurrency = 0\n',
         "invalid concurrency 0 in endpoint 'a'"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\nmodel = "m"\nconcurrency = 1.5\n',
         "give a whole number"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\nmodel = "m"\nmodle = "m"\n', "unknown key 'modle'"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\nmodel = "m"\nprice = 3\n',
         "write price = { input = 0.15, output = 0.60 }"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\nmodel = "m"\nprice = { input = -1, output = 1 }\n',
         "invalid price.input -1"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\nmodel = "m"\n'
         '[[endpoints]]\nname = "a"\nbase_url = "http://y/v1"\nmodel = "m"\n', "appears twice"),
        ('[[endpoints]]\nbase_url = "http://x/v1"\nmodel = "m"\n', "missing name in endpoint number 1"),
        ('[[endpoints]]\nname = "a"\nbase_url = "http://x/v1"\nmodel = "m"\nexpected_seconds = 0\n',
         "invalid expected_seconds 0 in endpoint 'a'"),
        ('[llm]\nmodel = "m"\n', "has no [[endpoints]] entries"),
        ("endpoints = [", "invalid TOML"),
    ],
)
def test_invalid_entry_names_fix(tmp_path, text, expected):
    path = write(tmp_path, text)

    with pytest.raises(EndpointConfigError) as error:
        load_endpoints(path, environ={})

    assert expected in str(error.value)
    assert str(path) in str(error.value)


def test_missing_file_named(tmp_path):
    with pytest.raises(EndpointConfigError, match="not found: check the --endpoints path"):
        load_endpoints(tmp_path / "absent.toml")


def test_escalation_by_name_or_model(tmp_path):
    endpoints = load_endpoints(write(tmp_path, VALID), environ={"SMALL_KEY": "k"})

    assert escalation_tiers(["small", "large-model"], endpoints) == [["small"], ["large"]]


def test_escalation_unknown_name(tmp_path):
    endpoints = load_endpoints(write(tmp_path, VALID), environ={"SMALL_KEY": "k"})

    with pytest.raises(EndpointConfigError, match="neither an endpoint nor a model") as error:
        escalation_tiers(["small", "huge"], endpoints)

    assert "the endpoint names are small, large" in str(error.value)
    assert "the model names are large-model, small-model" in str(error.value)
    assert "some of" not in str(error.value)


def test_escalation_repeated_endpoint(tmp_path):
    endpoints = load_endpoints(write(tmp_path, VALID), environ={"SMALL_KEY": "k"})

    with pytest.raises(EndpointConfigError, match="lists endpoint 'small' twice"):
        escalation_tiers(["small", "small-model"], endpoints)
