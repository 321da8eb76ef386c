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


def _codes(column: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Distinct values (sorted) and each item's index among them: a dict pass, far quicker
    than sorting half a million strings."""
    names = sorted(set(column))
    index = {name: i for i, name in enumerate(names)}
    return names, np.fromiter((index[v] for v in column), np.int64, len(column))


def rater_differences(ratings: Sequence[tuple[str, str, str, float]],
                      labels: dict[str, str | None], groups: Sequence[str], min_group: int
                      ) -> list[RaterGroup]:
    """``ratings``: (rater, ratee, competency, proficiency), self ratings left out. Each
    rating is compared with the mean of the other raters' ratings of the same ratee and
    competency; a rater's differences are averaged per ratee, so each ratee counts once.
    Only (rater, group) pairs with at least ``min_group`` ratees are reported. Arrays
    throughout: a 10,000-person cycle has half a million ratings."""
    if not ratings:
        return []
    rater_col, ratee_col, comp_col, values = zip(*ratings, strict=True)
    raters, rater = _codes(rater_col)
    ratees, ratee = _codes(ratee_col)
    _, comp = _codes(comp_col)
    value = np.asarray(values, float)
    cell = ratee * (comp.max() + 1) + comp
    total, count = np.bincount(cell, value), np.bincount(cell)
    others = count[cell] - 1
    has = others > 0
    diff = value[has] - (total[cell][has] - value[has]) / others[has]
    pair = rater[has] * len(ratees) + ratee[has]  # (rater, ratee): the mean of their diffs
    keys, where = np.unique(pair, return_inverse=True)
    per_pair = np.bincount(where, diff) / np.bincount(where)
    pair_rater, pair_ratee = keys // len(ratees), keys % len(ratees)
    group_of = {g: i for i, g in enumerate(groups)}
    ratee_group = np.array([group_of.get(labels.get(r), -1) for r in ratees])[pair_ratee]
    overall = np.bincount(pair_rater, per_pair) / np.maximum(np.bincount(pair_rater), 1)
    order = np.lexsort((ratee_group, pair_rater))
    bounds = np.flatnonzero(np.diff(pair_rater[order] * (len(groups) + 1)
                                    + ratee_group[order])) + 1
    blocks = [b for b in np.split(order, bounds)
              if ratee_group[b[0]] >= 0 and b.size >= min_group]
    if not blocks:
        return []
    n = np.array([b.size for b in blocks])
    means = np.array([per_pair[b].mean() for b in blocks])
    sds = np.array([per_pair[b].std(ddof=1) for b in blocks])
    half = stats.t.ppf(0.975, n - 1) * sds / np.sqrt(n)  # the one-sample t interval, at once
    out = []
    for block, size, mean, h in zip(blocks, n, means, half, strict=True):
        r, g = int(pair_rater[block[0]]), int(ratee_group[block[0]])
        ci = (round(float(mean - h), 3), round(float(mean + h), 3))
        out.append(RaterGroup(raters[r], groups[g], int(size), round(float(mean), 3), ci,
                              ci[0] > 0 or ci[1] < 0, round(float(overall[r]), 3)))
    return out
