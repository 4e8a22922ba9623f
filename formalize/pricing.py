"""Prices of models per million tokens, and the cost of one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kg.errors import LemmagraphError

UNKNOWN_PRICE = "unknown price"


@dataclass(frozen=True)
class ModelPrice:
    """The price of a model in US dollars per million input and output tokens."""

    input_usd_per_million: float
    output_usd_per_million: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Return the cost in US dollars of a request with these token counts."""
        return (
            prompt_tokens * self.input_usd_per_million + completion_tokens * self.output_usd_per_million
        ) / 1_000_000


def parse_prices(table: Mapping[str, object]) -> dict[str, ModelPrice]:
    """Read the `[prices]` table of lemmagraph.toml: model name -> {input = ..., output = ...}.

    Both values are US dollars per million tokens. Raises LemmagraphError naming the
    model whose entry is invalid.
    """
    prices: dict[str, ModelPrice] = {}
    for model, entry in table.items():
        if not isinstance(entry, Mapping):
            raise LemmagraphError(
                f"invalid price for model {model!r} in [prices]: expected a table such as "
                f'"{model}" = {{ input = 0.15, output = 0.60 }} (USD per million tokens)'
            )
        values = []
        for key in ("input", "output"):
            value = entry.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise LemmagraphError(
                    f"invalid {key} price {value!r} for model {model!r} in [prices]: "
                    "give a non-negative number of USD per million tokens"
                )
            values.append(float(value))
        prices[str(model)] = ModelPrice(*values)
    return prices


def price_of(prices: Mapping[str, ModelPrice], *models: str) -> ModelPrice | None:
    """Return the price of the first of `models` that has one, or None when none has."""
    for model in models:
        if model and model in prices:
            return prices[model]
    return None
