"""Adverse-impact arithmetic, pure (no I/O): selection rates per group with impact ratios,
the four-fifths flag and Fisher's exact test; per-competency gap differences with Welch
intervals; per-rater differences against the same ratees' other raters.

Groups are labels (``"woman"``, or ``"woman/asian"`` for two attributes); ``None`` is a
person who declared nothing (for two attributes: not both), counted apart and never
compared. A group smaller than ``min_group`` is suppressed: its figures are withheld, but its
members still count among the "others" every other group is compared with."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

FOUR_FIFTHS = 0.8
DEFAULT_MIN_GROUP = 5  # smaller groups are suppressed (in answers and in the alert check)


@dataclass(frozen=True)
class GroupRate:
    group: str
    suppressed: bool
    n: int | None = None
    selected: int | None = None
    rate: float | None = None
    impact_ratio: float | None = None
    four_fifths: bool | None = None  # True: below four fifths of the highest group's rate
    fisher_p: float | None = None


@dataclass(frozen=True)
class Undeclared:
    n: int
    selected: int
    rate: float | None


@dataclass(frozen=True)
class Selection:
    groups: list[GroupRate]
    undeclared: Undeclared
    highest: str | None  # the reference group (highest rate among those shown)


def _sig(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def group_label(categories: Sequence[str | None]) -> str | None:
    """One person's group for the attributes asked (None unless every one is declared)."""
    if any(c is None for c in categories):
        return None
    return "/".join(categories)  # categories are slugs: "/" cannot be part of one


def selection(labels: Sequence[str | None], selected: np.ndarray, min_group: int) -> Selection:
    """Selection rate per group; impact ratio against the highest rate among the groups shown;
    two-sided Fisher exact test of each group against every other declared person."""
    selected = np.asarray(selected, bool)
    declared = np.array([label is not None for label in labels], bool)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for label, chosen in zip(labels, selected, strict=True):
        if label is not None:
            counts[label][0] += 1
            counts[label][1] += int(chosen)
    total_n, total_sel = int(declared.sum()), int(selected[declared].sum())
    shown = {g: (n, s) for g, (n, s) in counts.items() if n >= min_group}
    top = max(shown, key=lambda g: (shown[g][1] / shown[g][0], g), default=None)
    top_rate = shown[top][1] / shown[top][0] if top is not None else 0.0
    groups = []
    for g in sorted(counts):
        n, s = counts[g]
        if g not in shown:
            groups.append(GroupRate(group=g, suppressed=True))
            continue
        rate = s / n
        ratio = rate / top_rate if top_rate > 0 else None
        other_n, other_s = total_n - n, total_sel - s
        p = None
        if other_n > 0:
            p = _sig(stats.fisher_exact([[s, n - s], [other_s, other_n - other_s]],
                                        alternative="two-sided").pvalue)
        groups.append(GroupRate(
            group=g, suppressed=False, n=n, selected=s, rate=round(rate, 4),
            impact_ratio=None if ratio is None else round(ratio, 4),
            four_fifths=None if ratio is None else ratio < FOUR_FIFTHS, fisher_p=p))
    out_n, out_sel = int((~declared).sum()), int(selected[~declared].sum())
    return Selection(groups, Undeclared(out_n, out_sel, round(out_sel / out_n, 4)
                                        if out_n else None), top)


def below_four_fifths(table: Selection) -> list[str]:
    return [g.group for g in table.groups if g.four_fifths]


# --- where a difference arises: gaps per competency --------------------------------------------

@dataclass(frozen=True)
class GapDifference:
    group: str
    n: int  # people of the group with this competency in their rubric
    mean_gap: float | None
    rest_mean_gap: float | None
    difference: float | None  # group minus every other declared person; positive: larger gap
    ci95: tuple[float, float] | None  # Welch's t interval (unequal variances)


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
    if a.size < 2 or b.size < 2:
        return None
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no spread on either side: the interval is a point
        diff = round(float(a[0] - b[0]), 3)
        return diff, diff
    low, high = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    return round(float(low), 3), round(float(high), 3)


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 3) if values.size else None


def gap_differences(labels: Sequence[str | None], gaps: np.ndarray, groups: Sequence[str]
                    ) -> list[list[GapDifference]]:
    """Per competency (columns of ``gaps``, NaN where a rubric lacks it), each shown group's
    mean gap against every other declared person's, with a Welch 95% interval."""
    label_array = np.array([label if label is not None else "" for label in labels], object)
    declared = np.array([label is not None for label in labels], bool)
    out = []
    for j in range(gaps.shape[1]):
        column, rated = gaps[:, j], ~np.isnan(gaps[:, j])
        row = []
        for g in groups:
            mine = (label_array == g) & rated
            rest = declared & (label_array != g) & rated
            a, b = column[mine], column[rest]
            diff = round(float(a.mean() - b.mean()), 3) if a.size and b.size else None
            row.append(GapDifference(g, int(a.size), _mean(a), _mean(b), diff, _welch(a, b)))
        out.append(row)
    return out


# --- raters: what they gave a group against what others gave the same people -------------------

@dataclass(frozen=True)
class RaterGroup:
    rater: str
    group: str
    ratees: int
    mean_difference: float  # rater's rating minus the other raters' mean, same ratee/competency
    ci95: tuple[float, float]  # one-sample t interval over the ratees
    flag: bool  # the interval excludes 0
    overall_difference: float  # the same over all of the rater's ratees (their general lean)


def rater_differences(ratings: Sequence[tuple[str, str, str, float]],
                      labels: dict[str, str | None], groups: Sequence[str], min_group: int
                      ) -> list[RaterGroup]:
    """``ratings``: (rater, ratee, competency, proficiency), self ratings left out. Each
    rating is compared with the mean of the other raters' ratings of the same ratee and
    competency; a rater's differences are averaged per ratee, so each ratee counts once.
    Only (rater, group) pairs with at least ``min_group`` ratees are reported."""
    cells: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for rater, ratee, competency, value in ratings:
        cells[(ratee, competency)].append((rater, float(value)))
    per_ratee: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (ratee, _), given in cells.items():
        total = sum(v for _, v in given)
        for rater, value in given:
            others = len(given) - 1
            if others:
                per_ratee[(rater, ratee)].append(value - (total - value) / others)
    by_rater: dict[str, dict[str, float]] = defaultdict(dict)
    for (rater, ratee), diffs in per_ratee.items():
        by_rater[rater][ratee] = float(np.mean(diffs))
    out = []
    for rater in sorted(by_rater):
        mine = by_rater[rater]
        overall = round(float(np.mean(list(mine.values()))), 3)
        for g in groups:
            values = np.array([d for ratee, d in mine.items() if labels.get(ratee) == g])
            if values.size < min_group:
                continue
            mean = round(float(values.mean()), 3)
            ci = (mean, mean)  # no spread: the interval is the point
            if np.ptp(values) > 0:
                low, high = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)
                ci = (round(float(low), 3), round(float(high), 3))
            out.append(RaterGroup(rater, g, int(values.size), mean, ci,
                                  ci[0] > 0 or ci[1] < 0, overall))
    return out
