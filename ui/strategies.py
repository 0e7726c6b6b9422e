"""The strategies' names as the Balance page's buttons show them, and a strategy said in
words, so the Balance and Export pages name a choice the same way."""

from __future__ import annotations

from balance_core.recipe import Recipe

NAMES = {
    "undersample": "Undersample",
    "oversample": "Oversample",
    "resample": "Hybrid",
    "weights": "Class weights",
    "sampler": "Weighted sampler",
}
WEIGHTING_NAMES = {
    "balanced": "balanced (N / (K · n_c))",
    "inverse": "inverse frequency",
    "sqrt_inverse": "inverse square root",
    "effective_number": "effective number",
    "median_frequency": "median frequency",
    "custom": "custom",
}


def target_words(method: str, target: str) -> str:
    """A sampling target in words: ``ratio:2`` -> "largest / smallest class at most 2"."""
    kind, _, value = target.partition(":")
    if kind == "equal":
        return (
            "every class to the smallest"
            if method == "undersample"
            else ("every class to the largest" if method == "oversample" else "every class equal")
        )
    if kind == "ratio":
        if method == "oversample":
            return f"smallest class at least the largest / {value}"
        return f"largest / smallest class at most {value}"
    if kind == "cap":
        return f"no class above {int(value):,}"
    if kind in ("median", "mean"):
        return f"every class to the {kind} count"
    if kind.isdigit():
        return f"every class to {int(kind):,}"
    return target


def describe(recipe: Recipe) -> list[str]:
    """The parts of a recipe a person checks before downloading, as plain text (the
    caller escapes them): what is done, to which target, over which groups."""
    strategy = recipe.strategy
    if strategy.is_sampling:
        parts = [target_words(strategy.method, strategy.target)]
    else:
        parts = [WEIGHTING_NAMES.get(strategy.weighting, strategy.weighting) + " weights"]
        if strategy.weighting == "effective_number":
            parts.append(f"β {strategy.beta:g}")
        if strategy.max_ratio is not None:
            parts.append(f"spread clipped at {strategy.max_ratio:g}×")
    return parts
