from __future__ import annotations

from pathlib import Path

import pytest

from commands.settings import resolve_settings
from formalize.pricing import ModelPrice, parse_prices, price_of
from kg.errors import LemmagraphError


def write_config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "lemmagraph.toml").write_text(text, encoding="utf-8")


def test_formalize_defaults(tmp_path: Path):
    settings = resolve_settings({"home": tmp_path}, environ={})

    assert settings.context_window == 32768
    assert settings.repair_rounds == 2
    assert settings.llm_max_retries == 3
    assert settings.prices == {}
    assert settings.use_llm_cache is True
    assert settings.semantic_review is True


def test_context_window_precedence(tmp_path: Path):
    write_config(tmp_path, "[llm]\ncontext_window = 8192\n")
    environ = {"LEMMAGRAPH_CONTEXT_WINDOW": "4096"}

    from_flag = resolve_settings({"home": tmp_path, "context_window": 2048}, environ=environ)
    from_file = resolve_settings({"home": tmp_path}, environ=environ)
    (tmp_path / "lemmagraph.toml").unlink()
    from_environment = resolve_settings({"home": tmp_path}, environ=environ)

    assert from_flag.context_window == 2048
    assert from_file.context_window == 8192
    assert from_environment.context_window == 4096


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LEMMAGRAPH_REPAIR_ROUNDS": "two"}, "invalid number of repair rounds 'two'"),
        ({"LEMMAGRAPH_REPAIR_ROUNDS": "-1"}, "it must be at least 0"),
        ({"LEMMAGRAPH_CONTEXT_WINDOW": "0"}, "--context-window"),
    ],
)
def test_invalid_numbers_name_setting(tmp_path: Path, environ, expected):
    with pytest.raises(LemmagraphError, match=expected):
        resolve_settings({"home": tmp_path}, environ=environ)


def test_prices_table_read(tmp_path: Path):
    write_config(tmp_path, '[prices]\n"gpt-x" = { input = 0.15, output = 0.6 }\n[prices.local]\ninput = 0\noutput = 0\n')

    prices = resolve_settings({"home": tmp_path}, environ={}).prices

    assert prices == {"gpt-x": ModelPrice(0.15, 0.6), "local": ModelPrice(0.0, 0.0)}


@pytest.mark.parametrize(
    "table",
    [
        {"m": 0.15},
        {"m": {"input": 0.15}},
        {"m": {"input": -1, "output": 1}},
        {"m": {"input": True, "output": 1}},
    ],
)
def test_invalid_prices_rejected(table):
    with pytest.raises(LemmagraphError, match="'m'"):
        parse_prices(table)


def test_price_lookup_and_cost():
    prices = {"served-name": ModelPrice(2.0, 8.0)}

    price = price_of(prices, "requested-name", "served-name")

    assert price == ModelPrice(2.0, 8.0)
    assert price.cost(1_000_000, 500_000) == pytest.approx(6.0)
    assert price_of(prices, "unknown") is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[llm]\nbogus_key = 1\n', "unknown key [llm] 'bogus_key'"),
        ('stor = "neo4j"\n', "unknown key 'stor'"),
        ('[neo4j]\nurl = "bolt://127.0.0.1:7687"\n', "unknown key [neo4j] 'url'"),
        ('llm = 3\n', "[llm] must be a table"),
    ],
)
def test_config_file_unknown_keys_rejected(tmp_path: Path, config, message):
    (tmp_path / "lemmagraph.toml").write_text(config)

    with pytest.raises(LemmagraphError) as raised:
        resolve_settings({"home": str(tmp_path)}, environ={})

    assert message in str(raised.value)
    assert str(tmp_path / "lemmagraph.toml") in str(raised.value)


def test_config_file_known_keys_read(tmp_path: Path):
    (tmp_path / "lemmagraph.toml").write_text(
        'store = "embedded"\n[llm]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\ntimeout_seconds = 5\n'
        '[neo4j]\nuri = "bolt://127.0.0.1:7687"\n'
    )

    settings = resolve_settings({"home": str(tmp_path)}, environ={})

    assert settings.llm_base_url == "http://127.0.0.1:9/v1"
    assert settings.llm_timeout_seconds == 5.0
    assert settings.neo4j_uri == "bolt://127.0.0.1:7687"


@pytest.mark.parametrize("value", [-1.0, 0.0, float("nan"), float("inf")])
def test_timeout_flag_must_be_positive(tmp_path: Path, value):
    with pytest.raises(LemmagraphError) as raised:
        resolve_settings({"home": tmp_path, "timeout": value}, environ={})

    assert "invalid LLM timeout" in str(raised.value)
    assert "from --timeout" in str(raised.value)
    assert "give a positive number of seconds" in str(raised.value)


@pytest.mark.parametrize("value", ["-5", "0", "soon"])
def test_timeout_variable_must_be_positive(tmp_path: Path, value):
    with pytest.raises(LemmagraphError) as raised:
        resolve_settings({"home": tmp_path}, environ={"LEMMAGRAPH_LLM_TIMEOUT": value})

    assert f"invalid LLM timeout '{value}' from LEMMAGRAPH_LLM_TIMEOUT" in str(raised.value)


@pytest.mark.parametrize("value", ["-1", "0", "true", '"soon"'])
def test_timeout_file_must_be_positive(tmp_path: Path, value):
    write_config(tmp_path, f"[llm]\ntimeout_seconds = {value}\n")

    with pytest.raises(LemmagraphError) as raised:
        resolve_settings({"home": tmp_path}, environ={"LEMMAGRAPH_LLM_TIMEOUT": "30"})

    assert f"from [llm] timeout_seconds in {tmp_path / 'lemmagraph.toml'}" in str(raised.value)


def test_timeout_default_and_fraction(tmp_path: Path):
    assert resolve_settings({"home": tmp_path}, environ={}).llm_timeout_seconds == 120.0
    assert resolve_settings({"home": tmp_path}, environ={"LEMMAGRAPH_LLM_TIMEOUT": "0.5"}).llm_timeout_seconds == 0.5
