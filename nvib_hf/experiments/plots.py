# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The sweep's plots (matplotlib on an Agg canvas: no display needed): the compression frontier (BLEU against the
proportion of vectors kept) and sample quality against BLEU; the NVAE and stride settings as curves, the other
baselines as their own markers, seeds as means with ±1 standard deviation bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nvib_hf.experiments.claims import summarize
from nvib_hf.experiments.metrics import is_finite_number

CURVE_STYLES: dict[str, tuple[str, str, str]] = {
    "nvib": ("o", "tab:blue", "NVAE (NVIB), one point per δ_end"),
    "vae_stride": ("v", "tab:red", "VT stride, one point per f"),
}
BASELINE_STYLES: dict[str, tuple[str, str, str]] = {
    "none": ("s", "tab:gray", "none (Transformer AE)"),
    "vae": ("^", "tab:orange", "vae (VT)"),
    "vae_pooled": ("D", "tab:green", "vae_pooled (VT pooled)"),
}


def _finite(row: dict[str, Any], *keys: str) -> bool:
    return all(is_finite_number(row.get(k)) for k in keys)


def _new_figure(columns: int) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5 * columns, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _setting_points(rows: list[dict[str, Any]], bottleneck: str, x: str, y: str) -> list[tuple[float, ...]]:
    """(x mean, y mean, x spread, y spread) of each setting of ``bottleneck`` over its seeds, sorted by x."""
    settings = sorted({r["setting"] for r in rows if r.get("bottleneck") == bottleneck and _finite(r, x, y)})
    points = []
    for setting in settings:
        sx, sy = summarize(rows, setting, x), summarize(rows, setting, y)
        points.append((sx.mean, sy.mean, sx.spread, sy.spread))
    return sorted(points)


def _plot_models(axes: Any, rows: list[dict[str, Any]], x: str, y: str) -> int:
    """The NVAE and the stride settings as curves (means over seeds with ±1 standard deviation bars, every seed as a
    faint dot) and each other baseline as its own marker. Returns the number of points drawn."""
    drawn = 0
    for bottleneck, (marker, color, label) in CURVE_STYLES.items():
        points = _setting_points(rows, bottleneck, x, y)
        if not points:
            continue
        xs, ys, ex, ey = zip(*points)
        axes.errorbar(xs, ys, xerr=ex, yerr=ey, fmt=marker + "-", color=color, label=label, capsize=3)
        seeds = [r for r in rows if r.get("bottleneck") == bottleneck and _finite(r, x, y)]
        axes.scatter([r[x] for r in seeds], [r[y] for r in seeds], s=12, color=color, alpha=0.35)
        drawn += len(points)
    for bottleneck, (marker, color, label) in BASELINE_STYLES.items():
        points = _setting_points(rows, bottleneck, x, y)
        for px, py, ex, ey in points:
            axes.errorbar(px, py, xerr=ex, yerr=ey, fmt=marker, ms=9, color=color, mec="black", label=label, zorder=3)
        drawn += len(points)
    return drawn


def plot_bleu_vs_vectors_kept(rows: list[dict[str, Any]], path: Path) -> None:
    """The compression frontier: reconstruction BLEU against the proportion of vectors kept (prior excluded)."""
    figure = _new_figure(1)
    axes = figure.subplots()
    if _plot_models(axes, rows, "vectors_kept_proportion", "bleu"):
        axes.legend(fontsize=8)
    axes.set_xlabel("proportion of vectors kept (vectors kept / tokens)")
    axes.set_ylabel("reconstruction BLEU (test, greedy)")
    axes.set_title("Reconstruction vs compression")
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=120)


def plot_samples_vs_reconstruction(rows: list[dict[str, Any]], path: Path) -> None:
    """Two panels against reconstruction BLEU: the external judge's perplexity ratio of prior samples (1 = as
    fluent as real sentences) and their distinct-2 (real test sentences as a dashed line)."""
    figure = _new_figure(2)
    panels = (
        ("sample_ppl_ratio", "judge PPL ratio, samples / real (lower: more fluent)", True),
        ("distinct_2", "distinct-2 of prior samples (higher: more diverse)", False),
    )
    for axes, (key, title, log_scale) in zip(figure.subplots(1, 2), panels):
        points = _plot_models(axes, rows, "bleu", key)
        reference = (
            1.0
            if key == "sample_ppl_ratio"
            else next((r[key] for r in rows if r["model"] == "data" and _finite(r, key)), None)
        )
        if reference is not None:
            axes.axhline(reference, color="black", linestyle="--", linewidth=1, label="real sentences")
        if points:
            axes.legend(fontsize=8)
            if log_scale:
                axes.set_yscale("log")
        axes.set_xlabel("reconstruction BLEU (test, greedy)")
        axes.set_ylabel(key.replace("_", " "))
        axes.set_title(title, fontsize=10)
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=120)


__all__ = [
    "BASELINE_STYLES",
    "CURVE_STYLES",
    "plot_bleu_vs_vectors_kept",
    "plot_samples_vs_reconstruction",
]
