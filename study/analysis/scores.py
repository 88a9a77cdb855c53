"""Statistics of participants' scores: the distribution against chance, the
exact binomial test per participant, and signal detection (d', c).

Pure functions on numbers and pandas tables; nothing here reads the database.

Signal detection convention: the "signal" is an AI-generated (FAKE, label 1)
image. A hit is answering "AI-generated" to a FAKE image, a false alarm is
answering "AI-generated" to a REAL image. Rates of exactly 0 or 1 would make
z infinite, so every rate gets the log-linear correction of Hautus (1995):
add 0.5 to the count of hits (false alarms) and 1 to the number of FAKE (REAL)
trials, whether or not the raw rate is extreme, so that all participants are
treated alike.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from study.labels import FAKE, REAL

PAPER_MEAN = 8.46  # the source study: 63 people, mean 8.46/15, median 8
PAPER_SET_SIZE = 15
ALPHA = 0.05
SDT_CORRECTION = (
    "log-linear correction (Hautus 1995): hit rate = (hits + 0.5) / (FAKE trials + 1), "
    "false-alarm rate = (false alarms + 0.5) / (REAL trials + 1)"
)


def _num(value) -> float | None:
    """A float for JSON and display, None where the statistic is undefined."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


# --- one participant ------------------------------------------------------------

def binomial_p(correct: int, n: int) -> float | None:
    """One-sided exact binomial p of getting `correct` or more of n right by
    guessing (p = 0.5): is this participant better than chance?"""
    if n <= 0:
        return None
    return float(stats.binomtest(int(correct), int(n), 0.5, alternative="greater").pvalue)


def min_correct_above_chance(n: int, alpha: float = ALPHA) -> int | None:
    """The fewest right answers out of n for which the binomial test gives p < alpha
    (12 for 15 images); None when even n out of n is not enough."""
    for k in range(n + 1):
        p = binomial_p(k, n)
        if p is not None and p < alpha:
            return k
    return None


@dataclass(frozen=True)
class SignalDetection:
    hits: int
    misses: int
    false_alarms: int
    correct_rejections: int
    hit_rate: float | None  # corrected
    false_alarm_rate: float | None  # corrected
    dprime: float | None
    criterion: float | None  # c > 0: leans towards "Real photo"

    def as_dict(self) -> dict:
        return asdict(self)


def signal_detection(hits: int, misses: int, false_alarms: int, correct_rejections: int) -> SignalDetection:
    """d' = z(H) - z(F) and c = -(z(H) + z(F)) / 2 with the log-linear correction.
    Undefined (None) when there were no FAKE or no REAL trials at all."""
    n_signal, n_noise = hits + misses, false_alarms + correct_rejections
    if n_signal == 0 or n_noise == 0:
        return SignalDetection(hits, misses, false_alarms, correct_rejections, None, None, None, None)
    h = (hits + 0.5) / (n_signal + 1)
    f = (false_alarms + 0.5) / (n_noise + 1)
    zh, zf = stats.norm.ppf(h), stats.norm.ppf(f)
    return SignalDetection(
        int(hits), int(misses), int(false_alarms), int(correct_rejections),
        float(h), float(f), float(zh - zf), float(-(zh + zf) / 2),
    )


def sdt_counts(answers: pd.DataFrame) -> tuple[int, int, int, int]:
    """(hits, misses, false alarms, correct rejections) of answer rows with
    columns label and answer (FAKE = an AI-generated image / said "AI-generated")."""
    label, said = answers["label"].to_numpy(), answers["answer"].to_numpy()
    return (
        int(((label == FAKE) & (said == FAKE)).sum()), int(((label == FAKE) & (said == REAL)).sum()),
        int(((label == REAL) & (said == FAKE)).sum()), int(((label == REAL) & (said == REAL)).sum()),
    )


def per_participant(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per participant who answered at least once: answered, correct,
    accuracy on REAL and on FAKE images, d', c, binomial p, median response time."""
    rows = []
    for pid, part in answers.groupby("participant_id", sort=True):
        hits, misses, fas, crs = sdt_counts(part)
        sdt = signal_detection(hits, misses, fas, crs)
        n, correct = len(part), int(part["correct"].sum())
        rows.append({
            "participant_id": int(pid),
            "answered": n,
            "correct": correct,
            "accuracy_real": crs / (fas + crs) if fas + crs else np.nan,
            "accuracy_fake": hits / (hits + misses) if hits + misses else np.nan,
            "hits": hits, "false_alarms": fas,
            "dprime": np.nan if sdt.dprime is None else sdt.dprime,
            "criterion": np.nan if sdt.criterion is None else sdt.criterion,
            "binomial_p": binomial_p(correct, n),
            "median_response_ms": float(part["response_ms"].median()),
        })
    columns = ["participant_id", "answered", "correct", "accuracy_real", "accuracy_fake", "hits",
               "false_alarms", "dprime", "criterion", "binomial_p", "median_response_ms"]
    return pd.DataFrame(rows, columns=columns)


# --- the distribution of scores -------------------------------------------------

@dataclass(frozen=True)
class ScoreSummary:
    """Scores out of set_size of the participants who answered every image."""

    n: int
    set_size: int
    mean: float | None
    median: float | None
    sd: float | None  # sample SD (ddof = 1)
    ci_low: float | None  # 95% CI of the mean, t distribution with n - 1 df
    ci_high: float | None
    chance: float  # set_size / 2
    t: float | None  # one-sample t-test of the scores against chance, two-sided
    df: int | None
    p: float | None
    paper_mean: float  # 8.46/15, scaled to set_size when the set is not 15 images
    paper_scaled: bool
    min_correct_above_chance: int | None  # per participant, exact binomial, one-sided, alpha .05
    n_above_chance: int  # participants whose own binomial test gives p < .05

    def as_dict(self) -> dict:
        return {k: (_num(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def paper_reference(set_size: int) -> tuple[float, bool]:
    """The paper's mean score on this set's scale, and whether it was rescaled."""
    if set_size == PAPER_SET_SIZE:
        return PAPER_MEAN, False
    return PAPER_MEAN / PAPER_SET_SIZE * set_size, True


def score_summary(scores, set_size: int, alpha: float = ALPHA) -> ScoreSummary:
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    chance = set_size / 2
    paper, scaled = paper_reference(set_size)
    threshold = min_correct_above_chance(set_size, alpha)
    mean = median = sd = lo = hi = t = p = None
    df = None
    if n:
        mean, median = float(scores.mean()), float(np.median(scores))
    if n >= 2:
        sd = float(scores.std(ddof=1))
        df = n - 1
        sem = sd / math.sqrt(n)
        if sem > 0:
            lo, hi = (float(x) for x in stats.t.interval(0.95, df, loc=mean, scale=sem))
            test = stats.ttest_1samp(scores, chance)
            t, p = float(test.statistic), float(test.pvalue)
        else:  # everyone scored the same: the interval is that point, t is undefined
            lo = hi = mean
    above = int((scores >= threshold).sum()) if threshold is not None else 0
    return ScoreSummary(n, set_size, mean, median, sd, lo, hi, chance, t, df, p, paper, scaled, threshold, above)
