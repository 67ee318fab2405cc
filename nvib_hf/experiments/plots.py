# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The sweep's plots (matplotlib on an Agg canvas: no display needed): BLEU against the proportion of vectors kept,
and F-PPL / R-PPL against BLEU, each NVAE run labelled with its λ_D and each baseline with its own marker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nvib_hf.experiments.metrics import is_finite_number

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


def _plot_models(axes: Any, rows: list[dict[str, Any]], x: str, y: str) -> int:
    """NVAE points joined in λ_D order and labelled with λ_D; each baseline as its own marker. Returns #points."""
    nvib = sorted(
        (r for r in rows if r["bottleneck"] == "nvib" and _finite(r, x, y)), key=lambda r: r["lambda_dirichlet"]
    )
    if nvib:
        axes.plot([r[x] for r in nvib], [r[y] for r in nvib], "o-", color="tab:blue", label="NVAE (NVIB)")
        for index, r in enumerate(nvib):  # staggered labels stay readable when points coincide
            axes.annotate(
                f"$\\lambda_D$={r['lambda_dirichlet']:g}",
                (r[x], r[y]),
                textcoords="offset points",
                xytext=(6, 6 - 11 * (index % 4)),
                fontsize=8,
            )
    baselines = [r for r in rows if r["bottleneck"] in BASELINE_STYLES and _finite(r, x, y)]
    for r in baselines:
        marker, color, label = BASELINE_STYLES[r["bottleneck"]]
        axes.scatter(r[x], r[y], marker=marker, s=80, color=color, edgecolors="black", label=label, zorder=3)
    return len(nvib) + len(baselines)


def plot_bleu_vs_vectors_kept(rows: list[dict[str, Any]], path: Path) -> None:
    """Reconstruction BLEU against the proportion of vectors kept (prior component excluded)."""
    figure = _new_figure(1)
    axes = figure.subplots()
    if _plot_models(axes, rows, "vectors_kept_proportion", "bleu"):
        axes.legend(fontsize=8)
    axes.set_xlabel("proportion of vectors kept (vectors kept / tokens)")
    axes.set_ylabel("reconstruction BLEU (test)")
    axes.set_title("Reconstruction vs compression")
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=120)


def plot_ppl_vs_reconstruction(rows: list[dict[str, Any]], path: Path) -> None:
    """Two panels: F-PPL and R-PPL of prior samples against reconstruction BLEU (real data as a dashed line)."""
    figure = _new_figure(2)
    for axes, key, title in zip(
        figure.subplots(1, 2),
        ("f_ppl", "r_ppl"),
        ("F-PPL of prior samples (lower: more fluent)", "R-PPL on real test sentences (lower: better coverage)"),
    ):
        points = _plot_models(axes, rows, "bleu", key)
        for row in rows:
            if row["model"] == "data" and _finite(row, key):
                axes.axhline(row[key], color="black", linestyle="--", linewidth=1, label="real data")
                points += 1
        if points:
            axes.set_yscale("log")
            axes.legend(fontsize=8)
        axes.set_xlabel("reconstruction BLEU (test)")
        axes.set_ylabel(key.replace("_", "-").upper())
        axes.set_title(title, fontsize=10)
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=120)


__all__ = [
    "BASELINE_STYLES",
    "plot_bleu_vs_vectors_kept",
    "plot_ppl_vs_reconstruction",
]
