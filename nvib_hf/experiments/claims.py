# Copyright 2026 the nvib-hf developers. Licensed under the Apache License, Version 2.0.
"""The paper's claims (Henderson & Fehr, ICLR 2023) tested on a sweep's rows: numbers, confidence and a verdict.

Every verdict follows a fixed rule on the rows, so ``claims.md`` is rewritten from ``results.csv`` alone:

- a *setting* (``nvib_d0.12``, ``stride_0.6``, ``vae``...) is summarised over its seeds (runs ``NAME`` and
  ``NAME_seed{s}``) as mean ± sample standard deviation (n − 1; 0 for one seed) and n;
- two settings differ on a metric when their means differ by more than the sum of their spreads; the better one
  then wins that metric, otherwise it is a tie;
- claim 1 (compression): the smallest proportion of vectors an NVAE setting keeps while its BLEU is at least
  ``KEEP_BLEU_SHARE`` of VT's (the ``vae`` baseline, every vector kept). Holds at ≤ 0.4 (≥ 60 % dropped, the
  paper's "up to about two thirds"), partly below 0.9, otherwise does not hold;
- claim 2 (the right vectors): the seeded NVAE setting against the seeded stride setting (same proportion kept by
  design) on BLEU: holds when the NVAE wins while keeping no more vectors (+0.05), does not hold when the stride
  baseline wins, partly on a tie;
- claims 3 and 4 (samples, interpolation): the seeded NVAE setting against VT on three metrics each; holds when the
  NVAE wins all three, does not hold when it wins none and loses one, partly otherwise;
- a comparison resting on fewer than ``MIN_SEEDS`` (3) seeds on either side says so in its reason ("indicative
  only"): with one seed the spread is 0 and any difference decides.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nvib_hf.experiments.metrics import is_finite_number
from nvib_hf.reporting.formatting import format_value

KEEP_BLEU_SHARE = 0.9  # "before reconstruction degrades": at least 90 % of VT's BLEU
MIN_SEEDS = 3  # a verdict resting on fewer seeds per compared setting says so in its reason
# (key, label, True when higher is better) of the sample and interpolation comparisons.
SAMPLE_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("sample_ppl_ratio", "judge PPL ratio (samples / real)", False),
    ("distinct_2", "distinct-2", True),
    ("repeat_rate", "repeat rate", False),
)
INTERPOLATION_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("interp_edit_distance", "edit distance between neighbours", False),
    ("interp_repeat_rate", "repeat rate of inner decodes", False),
    ("judge_ppl_midpoints", "judge PPL of midpoints", False),
)


@dataclass(frozen=True)
class Summary:
    """A metric of one setting over its seeds."""

    mean: float
    spread: float
    count: int

    def __str__(self) -> str:
        if self.count == 0:
            return "n/a"
        if self.count == 1:
            return f"{format_value(self.mean)} (1 seed)"
        return f"{format_value(self.mean)} ± {format_value(self.spread)} ({self.count} seeds)"


def summarize(rows: Sequence[dict[str, Any]], setting: str, key: str) -> Summary:
    """Mean ± sample standard deviation of ``key`` over the runs of ``setting`` with a finite value."""
    values = [float(r[key]) for r in rows if r.get("setting") == setting and is_finite_number(r.get(key))]
    if not values:
        return Summary(math.nan, math.nan, 0)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return Summary(statistics.fmean(values), spread, len(values))


def compare(a: Summary, b: Summary, higher_is_better: bool) -> int:
    """+1 when ``a`` is better than ``b`` by more than the sum of their spreads, −1 when worse, 0 for a tie or a
    missing value."""
    if a.count == 0 or b.count == 0:
        return 0
    difference = (a.mean - b.mean) * (1 if higher_is_better else -1)
    margin = a.spread + b.spread
    return 1 if difference > margin else -1 if difference < -margin else 0


def seeded_setting(rows: Sequence[dict[str, Any]], bottleneck: str) -> str | None:
    """The setting of ``bottleneck`` with the most runs (the seeded one), or None."""
    counts: dict[str, int] = {}
    for r in rows:
        if r.get("bottleneck") == bottleneck:
            counts[r["setting"]] = counts.get(r["setting"], 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else None


def compression_claim(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Claim 1: the NVAE drops most vectors before its reconstruction falls below ``KEEP_BLEU_SHARE`` of VT's."""
    reference = summarize(rows, "vae", "bleu")
    settings = sorted({r["setting"] for r in rows if r.get("bottleneck") == "nvib"})
    points = [(s, summarize(rows, s, "vectors_kept_proportion"), summarize(rows, s, "bleu")) for s in settings]
    evidence = [f"VT (vae): BLEU {reference}"] + [f"{s}: kept {kept}, BLEU {bleu}" for s, kept, bleu in points]
    pooled = summarize(rows, "vae_pooled", "bleu")
    if pooled.count:
        evidence.append(f"VT pooled (one vector): BLEU {pooled}")
    if reference.count == 0 or not points:
        return _claim(1, evidence, "not measured", "needs the vae baseline and NVAE runs")
    good = [kept.mean for _, kept, bleu in points if bleu.mean >= KEEP_BLEU_SHARE * reference.mean]
    if not good:
        return _claim(1, evidence, "does not hold", f"no NVAE setting reaches {KEEP_BLEU_SHARE:.0%} of VT's BLEU")
    smallest = min(good)
    verdict = "holds" if smallest <= 0.4 else "partly" if smallest < 0.9 else "does not hold"
    reason = f"smallest proportion kept at ≥ {KEEP_BLEU_SHARE:.0%} of VT's BLEU: {format_value(smallest)}"
    return _claim(1, evidence, verdict, reason)


def right_vectors_claim(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Claim 2: at the same proportion kept, the NVAE reconstructs better than the stride baseline."""
    nvib, stride = seeded_setting(rows, "nvib"), seeded_setting(rows, "vae_stride")
    if nvib is None or stride is None:
        return _claim(2, [], "not measured", "needs NVAE and vae_stride runs")
    kept = {s: summarize(rows, s, "vectors_kept_proportion") for s in (nvib, stride)}
    bleu = {s: summarize(rows, s, "bleu") for s in (nvib, stride)}
    evidence = [f"{s}: kept {kept[s]}, BLEU {bleu[s]}" for s in (nvib, stride)]
    outcome = compare(bleu[nvib], bleu[stride], higher_is_better=True)
    seeds = _seed_note(bleu[nvib], bleu[stride])
    if outcome > 0 and kept[nvib].mean <= kept[stride].mean + 0.05:
        return _claim(2, evidence, "holds", "the NVAE's BLEU is higher by more than the seeds' spread" + seeds)
    if outcome < 0:
        return _claim(
            2, evidence, "does not hold", "the stride baseline's BLEU is higher by more than the spread" + seeds
        )
    return _claim(2, evidence, "partly", "the difference is within the seeds' spread (or the NVAE keeps more)" + seeds)


def versus_vt_claim(number: int, rows: Sequence[dict[str, Any]], metrics: tuple[tuple[str, str, bool], ...]):
    """Claims 3 and 4: the seeded NVAE setting against VT on ``metrics``."""
    nvib = seeded_setting(rows, "nvib")
    if nvib is None or not any(r.get("setting") == "vae" for r in rows):
        return _claim(number, [], "not measured", "needs NVAE and vae runs")
    evidence, outcomes, seeds = [], [], ""
    for key, label, higher in metrics:
        ours, theirs = summarize(rows, nvib, key), summarize(rows, "vae", key)
        outcomes.append(compare(ours, theirs, higher))
        evidence.append(f"{label}: {nvib} {ours}, vae {theirs}")
        seeds = seeds or _seed_note(ours, theirs)
    wins, losses = outcomes.count(1), outcomes.count(-1)
    verdict = "holds" if wins == len(metrics) else "does not hold" if wins == 0 and losses else "partly"
    ties = len(metrics) - wins - losses
    reason = f"the NVAE is better on {wins}, worse on {losses}, within the seeds' spread on {ties} of {len(metrics)}"
    return _claim(number, evidence, verdict, reason + seeds)


def _seed_note(*summaries: Summary) -> str:
    """``"; n = 2 and 1 seeds, fewer than 3"`` when a compared setting has fewer than ``MIN_SEEDS`` seeds."""
    counts = [s.count for s in summaries]
    if min(counts) >= MIN_SEEDS:
        return ""
    return f"; n = {' and '.join(map(str, counts))} seeds, fewer than {MIN_SEEDS}: indicative only"


CLAIMS: dict[int, str] = {
    1: "NVIB drops most vectors (up to about two thirds) before reconstruction degrades; VT keeps all, VT pooled one",
    2: "At the same proportion kept, NVIB keeps the right vectors: it reconstructs better than VT stride",
    3: "Prior samples of the compressed latent space are better than VT's",
    4: "Interpolation is smoother than VT's",
}


def _claim(number: int, evidence: list[str], verdict: str, reason: str) -> dict[str, Any]:
    return {"claim": number, "text": CLAIMS[number], "evidence": evidence, "verdict": verdict, "reason": reason}


def evaluate_claims(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The four claims, each with its evidence (strings), verdict and reason."""
    models = [r for r in rows if r.get("model") != "data"]
    return [
        compression_claim(models),
        right_vectors_claim(models),
        versus_vt_claim(3, models, SAMPLE_METRICS),
        versus_vt_claim(4, models, INTERPOLATION_METRICS),
    ]


def claims_markdown(claims: Sequence[dict[str, Any]]) -> list[str]:
    """The claims table: claim, the numbers that test it, verdict and reason."""
    lines = ["| claim | numbers (mean ± standard deviation over seeds) | verdict | reason |", "|---|---|---|---|"]
    for c in claims:
        lines.append(f"| {c['claim']}. {c['text']} | {'; '.join(c['evidence'])} | **{c['verdict']}** | {c['reason']} |")
    return lines


__all__ = [
    "CLAIMS",
    "KEEP_BLEU_SHARE",
    "Summary",
    "claims_markdown",
    "compare",
    "evaluate_claims",
    "seeded_setting",
    "summarize",
]
