"""What the study found per condition (issue 14): `results --json` under
`by_condition`, and the Results page's "Conditions" section.

Every figure uses the answers and participants that count under the set's
Inclusion (results.py: previews never, simulated only when asked, ...), split by
the condition each participant was assigned to:

- per condition: n (participants with at least one analysed answer), accuracy
  (share of their answers right), the score of those who answered every image
  (mean with a 95% t interval, and the same divided by the set size: the mean
  accuracy of completed participants), d' and c pooled over the answers and the
  mean of the completed participants' own (log-linear correction, scores.py);
- reliance (hinted conditions): how often the final answer agreed with the
  model's verdict when the model was right, and when it was wrong;
- after_first conditions: of the first answers that disagreed with the model,
  the share switched to it; of those that agreed, the share switched away; the
  accuracy of the first and of the final answers, on the same images;
- calibration: accuracy at each confidence level 1-5;
- across conditions: Pearson's chi-square (no continuity correction) on right /
  wrong answers by condition, which takes answers as independent; and a logistic
  regression of correctness on condition (dummies against the reference: control
  when the set has it, else its first condition) with standard errors clustered
  by participant (statsmodels, its default small-sample correction), which does
  not; with a joint Wald test of the condition terms.

Honest numbers: every figure carries its n, and a figure that would rest on
fewer than MIN_PARTICIPANTS participants is None ("not enough data"); a
condition with fewer is left out of the comparison.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from study.analysis import scores as analysis_scores

MIN_PARTICIPANTS = 2  # no figure from fewer participants than this
CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
NOT_ENOUGH = "not enough data"


def wanted(conditions: list[dict] | tuple[dict, ...]) -> bool:
    """by_condition is shown for a set with more than one condition or any hinted one."""
    return len(conditions) > 1 or any(c["hint"] != "none" for c in conditions)


def _people(rows: pd.DataFrame) -> int:
    return int(rows["participant_id"].nunique())


def _share(rows: pd.DataFrame, hit: pd.Series) -> dict:
    """{share, n_answers, n_participants}; share None below MIN_PARTICIPANTS participants."""
    n_people = _people(rows)
    share = float(hit.mean()) if len(rows) and n_people >= MIN_PARTICIPANTS else None
    return {"share": share, "n_answers": int(len(rows)), "n_participants": n_people}


def _mean_or_none(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) >= MIN_PARTICIPANTS else None


def _score(scored: pd.DataFrame, set_size: int) -> dict:
    """The completed participants' scores: n, mean, SD, 95% t interval, and the
    same as accuracy (divided by the set size)."""
    n = int(len(scored))
    out = {"n": n, "set_size": int(set_size), "mean": None, "sd": None, "ci_low": None, "ci_high": None,
           "mean_accuracy": None, "mean_accuracy_ci_low": None, "mean_accuracy_ci_high": None}
    if n < MIN_PARTICIPANTS:
        return out
    summary = analysis_scores.score_summary(scored["correct"].to_numpy(float), set_size)
    out.update(mean=summary.mean, sd=summary.sd, ci_low=summary.ci_low, ci_high=summary.ci_high)
    for key, value in (("mean_accuracy", summary.mean), ("mean_accuracy_ci_low", summary.ci_low),
                       ("mean_accuracy_ci_high", summary.ci_high)):
        out[key] = None if value is None else value / set_size
    return out


def _sdt(answers: pd.DataFrame, scored: pd.DataFrame) -> dict:
    pooled = analysis_scores.signal_detection(*analysis_scores.sdt_counts(answers)).as_dict()
    if _people(answers) < MIN_PARTICIPANTS:
        pooled.update(hit_rate=None, false_alarm_rate=None, dprime=None, criterion=None)
    return {"pooled": pooled, "n_participants_pooled": _people(answers),
            "mean_dprime": _mean_or_none(scored["dprime"]), "mean_criterion": _mean_or_none(scored["criterion"]),
            "n_participants_mean": int(scored["dprime"].notna().sum())}


def _reliance(answers: pd.DataFrame) -> dict:
    """Agreement of the final answer with the model's verdict, by whether the model was right."""
    hinted = answers[answers["hint_verdict"].notna()]
    model_right = hinted["hint_verdict"] == hinted["label"]
    agrees = hinted["answer"] == hinted["hint_verdict"]
    return {
        "model_accuracy": _share(hinted, model_right),
        "agreement_model_right": _share(hinted[model_right], agrees[model_right]),
        "agreement_model_wrong": _share(hinted[~model_right], agrees[~model_right]),
    }


def _switching(answers: pd.DataFrame) -> dict:
    """after_first: the first answer (before the hint) against the final one."""
    both = answers[answers["hint_verdict"].notna() & answers["initial_answer"].notna()]
    disagreed = both["initial_answer"] != both["hint_verdict"]
    final_is_model = both["answer"] == both["hint_verdict"]
    return {
        "switched_to_model": _share(both[disagreed], final_is_model[disagreed]),
        "switched_away_from_model": _share(both[~disagreed], ~final_is_model[~disagreed]),
        "changed_answer": _share(both, both["answer"] != both["initial_answer"]),
        "accuracy_before_hint": _share(both, both["initial_answer"] == both["label"]),
        "accuracy_after_hint": _share(both, both["correct"] == 1),
    }


def _calibration(answers: pd.DataFrame) -> list[dict]:
    """Accuracy at each confidence level (answers without a confidence left out)."""
    levels = []
    for level in CONFIDENCE_LEVELS:
        rows = answers[answers["confidence"] == level]
        levels.append({"confidence": level, **_share(rows, rows["correct"] == 1)})
    return levels


def per_condition(condition: dict, answers: pd.DataFrame, scored: pd.DataFrame, set_size: int) -> dict:
    """Every figure of one condition, from its analysed answers and its completed,
    counted participants (with their own correct, dprime and criterion)."""
    n = _people(answers)
    enough = n >= MIN_PARTICIPANTS
    figures = {
        **{key: condition[key] for key in ("name", "hint", "hint_timing", "feedback", "display_ms")},
        "shows": condition.get("shows"),
        "n": n, "n_completed": int(len(scored)), "n_answers": int(len(answers)),
        "enough_data": enough,
        "accuracy": float(answers["correct"].mean()) if enough else None,
        "score": _score(scored, set_size),
        "sdt": _sdt(answers, scored),
        "calibration": _calibration(answers),
        "reliance": _reliance(answers) if condition["hint"] != "none" else None,
        "switching": _switching(answers) if condition["hint"] != "none" and condition["hint_timing"] == "after_first"
        else None,
    }
    return figures


def _chi_square(answers: pd.DataFrame, names: list[str]) -> dict:
    rows = answers[answers["condition"].isin(names)]
    right = rows.groupby("condition")["correct"].sum().reindex(names, fill_value=0)
    total = rows.groupby("condition")["correct"].size().reindex(names, fill_value=0)
    table = pd.DataFrame({"right": right, "wrong": total - right}, index=names)
    counts = {name: {"right": int(table.loc[name, "right"]), "wrong": int(table.loc[name, "wrong"])}
              for name in names}
    out = {"conditions": names, "counts": counts, "n_answers": int(len(rows)), "correction": False,
           "statistic": None, "df": None, "p": None, "note": None}
    if (table.sum(axis=0) == 0).any():
        out["note"] = "every answer was right (or every answer wrong): the test is undefined"
        return out
    result = stats.chi2_contingency(table.to_numpy(), correction=False)
    out.update(statistic=float(result.statistic), df=int(result.dof), p=float(result.pvalue))
    return out


def _logistic(answers: pd.DataFrame, names: list[str], reference: str) -> dict:
    rows = answers[answers["condition"].isin(names)].reset_index(drop=True)
    others = [n for n in names if n != reference]
    out = {"reference": reference, "n_answers": int(len(rows)), "n_participants": _people(rows),
           "cov_type": "cluster (participant)", "terms": [], "wald": None, "note": None}
    shares = rows.groupby("condition")["correct"].mean()
    if ((shares == 0) | (shares == 1)).any():
        out["note"] = "a condition answered every image right (or every one wrong): the odds ratio is infinite"
        return out
    design = pd.DataFrame({"const": 1.0, **{name: (rows["condition"] == name).astype(float) for name in others}})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a small sample's convergence chatter; failures raise below
            fit = sm.Logit(rows["correct"].astype(float), design).fit(
                disp=0, cov_type="cluster", cov_kwds={"groups": rows["participant_id"].to_numpy()})
            joint = fit.wald_test(np.eye(len(design.columns))[1:], scalar=True)
    except (np.linalg.LinAlgError, ValueError) as err:
        out["note"] = f"the regression could not be fitted: {err}"
        return out
    ci = fit.conf_int()
    for name in others:
        out["terms"].append({
            "condition": name, "coef": float(fit.params[name]), "se": float(fit.bse[name]),
            "z": float(fit.tvalues[name]), "p": float(fit.pvalues[name]), "odds_ratio": float(np.exp(fit.params[name])),
            "odds_ratio_ci_low": float(np.exp(ci.loc[name, 0])), "odds_ratio_ci_high": float(np.exp(ci.loc[name, 1])),
        })
    out["intercept"] = float(fit.params["const"])
    # Without use_t the joint test is chi-square with df = the number of condition terms.
    out["wald"] = {"statistic": float(np.squeeze(joint.statistic)), "distribution": joint.distribution,
                   "df": int(joint.df_num if joint.distribution == "F" else joint.df_denom), "p": float(joint.pvalue)}
    return out


def comparison(answers: pd.DataFrame, figures: list[dict]) -> dict:
    """Across the conditions with enough data: chi-square and the clustered logistic regression."""
    names = [f["name"] for f in figures if f["enough_data"]]
    left_out = [f["name"] for f in figures if not f["enough_data"]]
    out = {"conditions": names, "left_out": left_out, "chi_square": None, "logistic": None,
           "note": None}
    if len(names) < 2:
        out["note"] = (f"{NOT_ENOUGH}: a comparison needs two conditions with at least {MIN_PARTICIPANTS} "
                       "participants each")
        return out
    reference = "control" if "control" in names else names[0]
    ordered = [reference] + [n for n in names if n != reference]
    out["chi_square"] = _chi_square(answers, ordered)
    out["logistic"] = _logistic(answers, ordered, reference)
    return out


def by_condition(conditions: list[dict] | tuple[dict, ...], answers: pd.DataFrame, scored: pd.DataFrame,
                 set_size: int) -> dict:
    """`by_condition` of results --json. answers: the analysed answers (with
    condition, hint_verdict, initial_answer); scored: the counted, completed
    participants (with condition, correct, dprime, criterion)."""
    figures = [per_condition(c, answers[answers["condition"] == c["name"]],
                             scored[scored["condition"] == c["name"]], set_size) for c in conditions]
    return {"min_participants": MIN_PARTICIPANTS, "conditions": figures, "comparison": comparison(answers, figures)}


# --- what the page lays out (text tables; the charts are in condition_charts.py) -----

def _pct(value) -> str:
    return NOT_ENOUGH if value is None else f"{100 * value:.1f}%"


def _num(value, digits: int = 2) -> str:
    return NOT_ENOUGH if value is None else f"{value:.{digits}f}"


def summary_table(data: dict) -> pd.DataFrame:
    """One row per condition, as the page shows it: counts, then each figure as text
    ("not enough data" where it would rest on fewer than MIN_PARTICIPANTS participants)."""
    rows = []
    for c in data["conditions"]:
        s, sdt = c["score"], c["sdt"]
        rows.append({
            "condition": c["name"], "participants": c["n"], "completed": c["n_completed"],
            "answers": c["n_answers"], "accuracy": _pct(c["accuracy"]),
            "mean score": _num(s["mean"]),
            "95% CI": NOT_ENOUGH if s["ci_low"] is None else f"[{s['ci_low']:.2f}, {s['ci_high']:.2f}]",
            "d′ (pooled)": _num(sdt["pooled"]["dprime"], 3), "c (pooled)": _num(sdt["pooled"]["criterion"], 3),
            "mean d′": _num(sdt["mean_dprime"], 3), "shows": c["shows"],
        })
    return pd.DataFrame(rows, columns=["condition", "participants", "completed", "answers", "accuracy",
                                       "mean score", "95% CI", "d′ (pooled)", "c (pooled)", "mean d′", "shows"])


RELIANCE_LABELS = {
    "agreement_model_right": "agreed with the model when it was right",
    "agreement_model_wrong": "agreed with the model when it was wrong",
    "switched_to_model": "switched to the model (first answer disagreed)",
    "switched_away_from_model": "switched away from the model (first answer agreed)",
    "accuracy_before_hint": "accuracy before the hint",
    "accuracy_after_hint": "accuracy after the hint",
}


def reliance_rows(data: dict) -> list[dict]:
    """(condition, figure, share or None, answers, participants) of every hinted condition."""
    rows = []
    for c in data["conditions"]:
        for group in ("reliance", "switching"):
            for key, figure in (c[group] or {}).items():
                if key in RELIANCE_LABELS:
                    rows.append({"condition": c["name"], "figure": RELIANCE_LABELS[key], "share": figure["share"],
                                 "answers": figure["n_answers"], "participants": figure["n_participants"]})
    return rows


def reliance_table(data: dict) -> pd.DataFrame:
    """reliance_rows as the page shows them (the share as text)."""
    rows = [{**row, "share": _pct(row["share"])} for row in reliance_rows(data)]
    return pd.DataFrame(rows, columns=["condition", "figure", "share", "answers", "participants"])


def calibration_table(data: dict) -> pd.DataFrame:
    """One row per (condition, confidence level): the share right as text, and its n."""
    rows = [{"condition": c["name"], "confidence": level["confidence"], "share right": _pct(level["share"]),
             "answers": level["n_answers"], "participants": level["n_participants"]}
            for c in data["conditions"] for level in c["calibration"]]
    return pd.DataFrame(rows, columns=["condition", "confidence", "share right", "answers", "participants"])


def comparison_lines(data: dict) -> list[str]:
    """The comparison across conditions, one sentence each."""
    comparison = data["comparison"]
    if comparison["note"]:
        return [comparison["note"].capitalize() + "."]
    left_out = (f" ({', '.join(comparison['left_out'])} left out: {NOT_ENOUGH})" if comparison["left_out"] else "")
    chi, logit = comparison["chi_square"], comparison["logistic"]
    lines = [f"Chi-square on right/wrong answers by condition ({chi['n_answers']} answers, taken as independent)"
             + left_out + ": " + (chi["note"] or f"χ²({chi['df']}) = {chi['statistic']:.3f}, p = {chi['p']:.4f}")
             + "."]
    if logit["note"]:
        lines.append(f"Logistic regression: {logit['note']}.")
    else:
        terms = "; ".join(f"{t['condition']}: odds ratio {t['odds_ratio']:.3f} (95% CI {t['odds_ratio_ci_low']:.3f}"
                          f"–{t['odds_ratio_ci_high']:.3f}), p = {t['p']:.4f}" for t in logit["terms"])
        wald = logit["wald"]
        lines.append(f"Logistic regression of correctness on condition against {logit['reference']}, standard errors "
                     f"clustered by participant ({logit['n_participants']} participants, {logit['n_answers']} "
                     f"answers): {terms}. Joint Wald test: χ²({wald['df']}) = {wald['statistic']:.3f}, "
                     f"p = {wald['p']:.4f}.")
    return lines
