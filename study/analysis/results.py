"""What the study found, for one survey set: the researcher's Results page and
`python -m study results` both call analyse() and show what it returns.

Who counts (Inclusion; image filters are another thing, study.data.filters):
- people who withdrew are never counted and are in no export (their answers are
  deleted); the counts say how many withdrew;
- researchers' previews of a condition are never counted, whatever is asked;
- simulated participants (`survey simulate`) are left out unless asked for;
- the set's pre-registered exclusion rules (study.survey.checks: failed attention
  checks, speeders by median response time, incomplete), fixed before anybody
  consented, leave out whom they name from every figure; `exclusions` counts
  the people each rule names (one person may meet several). Turning them off
  (Inclusion.preregistered=False) is a sensitivity check, and the results say so;
- a demographic filter keeps only participants with the chosen optional answers;
- "speeders", whose median response time is below a threshold, are left out:
  this ad-hoc filter, like completed_only, comes on top of the pre-registered
  rules and never loosens them;
- a device filter keeps only the chosen device classes (desktop, mobile, tablet,
  unknown); `by_device` gives the figures of each class under every other rule;
- the score distribution (histogram, mean, t-test, binomial tests) uses the
  participants who answered every image: a score out of the set size means
  nothing for someone who stopped half-way;
- answer-level figures (per-image shares, pooled accuracy on REAL and FAKE,
  pooled d', response times, human-vs-model) use every answer of the remaining
  participants, or only those of completed participants with completed_only.

Statistics: scipy (t-test, t interval, exact binomial, normal quantiles for d'),
scikit-learn (confusion matrices, classification reports, Cohen's kappa) and
pandas. d' and c use the log-linear correction of Hautus (1995); see
study/analysis/scores.py.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import Engine

import db.conditions as qc
import db.survey as q
from study.analysis import conditions as analysis_conditions
from study.analysis import groups as analysis_groups
from study.analysis import images as analysis_images
from study.analysis import humans_vs_models as analysis_models
from study.analysis import scores as analysis_scores
from study.analysis.images import png_data_uri, thumbnail_data_uri
from study.data.image_sets import is_image_set
from study.data.imports import read_stored
from study.errors import StudyError
from study.labels import FAKE, REAL, predicted_labels
from study.survey.checks import ExclusionRules, excluded
from study.survey.device import DEVICE_CLASSES
from study.survey.sets import SetSummary, set_conditions, set_pixels, summary

SKIPPED = "skipped"  # how a skipped optional question is named in an Inclusion
UNKNOWN_DEVICE = "unknown"  # how a participant without a device class is named in an Inclusion
DEVICE_OPTIONS = (*DEVICE_CLASSES, UNKNOWN_DEVICE)
ANSWER_COLUMNS = ["participant_id", "is_simulated", "completed", "age_band", "ai_exposure", "position",
                  "image_id", "label", "answer", "correct", "confidence", "response_ms",
                  "is_preview", "condition", "hint_verdict", "hint_p_ai", "initial_answer", "first_response_ms",
                  "device_class", "checks_failed"]
# In the order mark_participants applies them; a participant is counted under the first that applies.
EXCLUSION_REASONS = ("preview", "simulated", "preregistered", "demographic", "speeder", "device")
RULES = ("failed_checks", "speeder", "incomplete")  # the pre-registered rules (study.survey.checks), in order


@dataclass(frozen=True)
class Inclusion:
    """Who counts in a set's results (see the module's docstring)."""

    include_simulated: bool = False
    completed_only: bool = False
    speeder_ms: int | None = None  # leave out participants whose median response time is below this
    age_bands: tuple[str, ...] | None = None  # None = everyone; SKIPPED = those who skipped the question
    ai_exposure: tuple[str, ...] | None = None
    preregistered: bool = True  # apply the set's pre-registered exclusion rules (False: a sensitivity check)
    device_classes: tuple[str, ...] | None = None  # None = every device; UNKNOWN_DEVICE = no class recorded

    def as_dict(self) -> dict:
        return asdict(self)


# --- reading the set ------------------------------------------------------------

def default_set_id(engine: Engine) -> int | None:
    """The open set; else the newest set with answers; else the newest set; else None."""
    sets = q.list_sets(engine)  # newest first
    for row in sets:
        if row.status == "open":
            return int(row.id)
    for row in sets:
        if q.set_counts(engine, row.id)["answers"]:
            return int(row.id)
    return int(sets[0].id) if sets else None


def resolve_set_id(engine: Engine, set_id: int | None) -> int:
    """The set asked for (checked), or the default; a clear error when there is none."""
    if set_id is not None:
        summary(engine, set_id)  # raises StudyError for an unknown id
        return int(set_id)
    found = default_set_id(engine)
    if found is None:
        raise StudyError("there are no survey sets yet; create one with `python -m study survey create --seed S`")
    return found


def load_answers(engine: Engine, set_id: int) -> pd.DataFrame:
    """Every answer of the set with its participant's fields (the export's rows), and
    their device class and failed attention checks (what the exclusion rules need).
    Withdrawn participants have none."""
    rows = q.export_rows(engine, set_id)
    devices = {int(r.id): r.device_class for r in q.participants_of_set(engine, set_id)}
    checks = qc.attention_counts(engine, set_id)
    frame = pd.DataFrame([{
        "participant_id": int(r.participant_id), "is_simulated": bool(r.is_simulated),
        "completed": r.completed_at is not None, "age_band": r.age_band, "ai_exposure": r.ai_exposure,
        "position": int(r.position), "image_id": r.image_id, "label": int(r.label), "answer": int(r.answer),
        "correct": int(bool(r.correct)), "confidence": np.nan if r.confidence is None else float(r.confidence),
        "response_ms": float(r.response_ms), "is_preview": bool(r.is_preview), "condition": r.condition,
        "hint_verdict": _float_or_nan(r.hint_verdict), "hint_p_ai": _float_or_nan(r.hint_p_ai),
        "initial_answer": _float_or_nan(r.initial_answer), "first_response_ms": _float_or_nan(r.first_response_ms),
        "device_class": devices.get(int(r.participant_id)),
        "checks_failed": checks.get(int(r.participant_id), (0, 0))[1],
    } for r in rows], columns=ANSWER_COLUMNS)
    return frame.astype({"confidence": float, "response_ms": float, "is_preview": bool, "hint_verdict": float,
                         "hint_p_ai": float, "initial_answer": float, "first_response_ms": float})


def _float_or_nan(value) -> float:
    return np.nan if value is None else float(value)


PARTICIPANT_COLUMNS = ["participant_id", "is_simulated", "completed", "saw_first_image", "age_band", "ai_exposure",
                       "prolific_pid", "study_id", "session_id", "consented_at", "started_at", "completed_at",
                       "consent_hash", "ignored_clicks", "is_preview", "condition", "device_class", "checks_passed",
                       "checks_failed", "withdrawn"]


def load_participants(engine: Engine, set_id: int, *, withdrawn: bool = False) -> pd.DataFrame:
    """Everyone who consented to the set, including those who never answered; people
    who withdrew only with withdrawn=True (to count them: they count nowhere else)."""
    rows = [r for r in q.participants_of_set(engine, set_id) if withdrawn or r.withdrawn_at is None]
    viewers = q.saw_first_image(engine, set_id)
    ignored = q.ignored_click_counts(engine, set_id)
    checks = qc.attention_counts(engine, set_id)
    names = {cid: condition.name for cid, condition in set_conditions(engine, set_id)}
    when = lambda moment: None if moment is None else q.as_utc(moment).isoformat()  # noqa: E731
    return pd.DataFrame([{
        "participant_id": int(r.id), "is_simulated": bool(r.is_simulated), "completed": r.completed_at is not None,
        "saw_first_image": r.id in viewers,
        "age_band": r.age_band, "ai_exposure": r.ai_exposure, "prolific_pid": r.prolific_pid,
        "study_id": r.study_id, "session_id": r.session_id, "consented_at": when(r.consented_at),
        "started_at": when(r.started_at), "completed_at": when(r.completed_at),
        "consent_hash": r.consent_hash, "ignored_clicks": ignored.get(r.id, 0),
        "is_preview": bool(r.is_preview), "condition": names.get(r.condition_id), "device_class": r.device_class,
        "checks_passed": checks.get(r.id, (0, 0))[0], "checks_failed": checks.get(r.id, (0, 0))[1],
        "withdrawn": r.withdrawn_at is not None,
    } for r in rows], columns=PARTICIPANT_COLUMNS)


def load_images(engine: Engine, set_id: int) -> pd.DataFrame:
    """The set's images in pool order: pool_position, image_id, label."""
    rows = q.set_images(engine, set_id)
    return pd.DataFrame([{"pool_position": int(r.pool_position), "image_id": r.image_id, "label": int(r.label)}
                         for r in rows], columns=["pool_position", "image_id", "label"])


def set_thumbnails(engine: Engine, set_id: int) -> list[str]:
    """PNG data URIs of the set's images in pool order, for the image table: an image
    set's stored thumbnails, CIFAKE's 32x32 pictures enlarged."""
    row = q.get_set(engine, set_id)
    ids = [r.image_id for r in q.set_images(engine, set_id)]
    if is_image_set(row.source):
        return [png_data_uri(read_stored(image_id, thumb=True)) for image_id in ids]
    return [thumbnail_data_uri(pixels) for pixels in set_image_pixels(engine, set_id)]


def set_image_pixels(engine: Engine, set_id: int) -> np.ndarray | list[np.ndarray]:
    """The set's pictures in pool order, as models start from them: CIFAKE's as one
    (N, 32, 32, 3) uint8 array from the dataset the set was drawn from (DatasetError
    if that is no longer prepared); an image set's as a list of (H, W, 3) pictures
    at their own sizes."""
    row = q.get_set(engine, set_id)
    ids = tuple(r.image_id for r in q.set_images(engine, set_id))
    by_id = set_pixels(row.id, row.source, row.fingerprint, ids)
    if is_image_set(row.source):
        return [by_id[i] for i in ids]
    return np.stack([by_id[i] for i in ids]) if ids else np.zeros((0, 32, 32, 3), np.uint8)


def set_picture(engine: Engine, set_id: int, image_id: str) -> np.ndarray:
    """One picture of a set as models start from it (see set_image_pixels)."""
    row = q.get_set(engine, set_id)
    if is_image_set(row.source):
        return set_pixels(row.id, row.source, row.fingerprint, (image_id,))[image_id]
    ids = tuple(r.image_id for r in q.set_images(engine, set_id))
    return set_pixels(row.id, row.source, row.fingerprint, ids)[image_id]


# --- who counts -----------------------------------------------------------------

def _matches(values: pd.Series, allowed: tuple[str, ...] | None) -> pd.Series:
    if allowed is None:
        return pd.Series(True, index=values.index)
    named = values.fillna(SKIPPED).astype(str)
    return named.isin([str(a) for a in allowed])


def device_of(values: pd.Series) -> pd.Series:
    """Device classes with UNKNOWN_DEVICE for a participant without one."""
    return values.astype(object).where(values.notna(), UNKNOWN_DEVICE)


def rule_exclusions(participants: pd.DataFrame, answers: pd.DataFrame, rules: ExclusionRules | None) -> pd.Series:
    """Per participant (participants' index), the pre-registered rules that leave them
    out, joined by ';' ("" = none), by study.survey.checks.excluded: failed checks
    (checks_failed, 0 when the column is missing), median response time of their
    answers below rules.speeder_ms, not completed."""
    out = pd.Series("", index=participants.index, dtype=object)
    if rules is None or not (rules.failed_checks or rules.speeder_ms or rules.incomplete):
        return out
    times = answers.groupby("participant_id")["response_ms"].apply(list).to_dict() if len(answers) else {}
    failed = (participants["checks_failed"] if "checks_failed" in participants
              else pd.Series(0, index=participants.index)).fillna(0)
    people = [{"id": int(pid), "completed": bool(done), "failed_checks": int(n), "response_ms": times.get(pid, [])}
              for pid, done, n in zip(participants["participant_id"], participants["completed"], failed)]
    named = excluded(rules, people)
    return pd.Series([";".join(named.get(int(pid), [])) for pid in participants["participant_id"]],
                     index=participants.index, dtype=object)


def mark_participants(participants: pd.DataFrame, answers: pd.DataFrame, inclusion: Inclusion,
                      rules: ExclusionRules | None = None) -> pd.DataFrame:
    """participants plus median_response_ms, excluded_by_rules (the set's pre-registered
    `rules` that leave them out, ';'-joined) and `excluded` ("" = kept; else the first
    reason of EXCLUSION_REASONS: preview (always), simulated, preregistered (unless
    inclusion.preregistered is off), demographic, speeder (the ad-hoc limit), device).
    A table without is_preview holds no previews; one without device_class, no classes."""
    table = participants.copy()
    medians = answers.groupby("participant_id")["response_ms"].median() if len(answers) else pd.Series(dtype=float)
    table["median_response_ms"] = table["participant_id"].map(medians).astype(float)
    table["excluded_by_rules"] = rule_exclusions(table, answers, rules)
    reason = pd.Series("", index=table.index, dtype=object)
    if "is_preview" in table:
        reason[table["is_preview"].eq(True)] = "preview"  # NaN or None: not a preview
    if not inclusion.include_simulated:
        reason[(reason == "") & table["is_simulated"].astype(bool)] = "simulated"
    if inclusion.preregistered:
        reason[(reason == "") & (table["excluded_by_rules"] != "")] = "preregistered"
    demographic = (_matches(table["age_band"], inclusion.age_bands)
                   & _matches(table["ai_exposure"], inclusion.ai_exposure))
    reason[(reason == "") & ~demographic] = "demographic"
    if inclusion.speeder_ms:
        speedy = table["median_response_ms"] < float(inclusion.speeder_ms)  # NaN (no answers) is never a speeder
        reason[(reason == "") & speedy] = "speeder"
    if inclusion.device_classes is not None:
        devices = device_of(table["device_class"] if "device_class" in table else pd.Series(None, index=table.index))
        reason[(reason == "") & ~devices.isin(list(inclusion.device_classes))] = "device"
    table["excluded"] = reason
    return table


# --- the result -----------------------------------------------------------------

@dataclass
class Results:
    set: SetSummary
    inclusion: Inclusion
    participants: pd.DataFrame  # everyone, with `excluded`, per-participant figures where they answered
    answers: pd.DataFrame  # the answers the answer-level figures use
    counts: dict
    scores: analysis_scores.ScoreSummary
    accuracy: dict  # overall, real, fake: shares of analysed answers
    sdt_pooled: analysis_scores.SignalDetection
    sdt_mean: dict  # mean d' and c over the participants in the score distribution
    images: pd.DataFrame  # analysis_images.per_image, plus p_ai/right columns per model
    humans: analysis_models.HumanComparison
    response_times: dict
    models: list[analysis_models.ModelComparison] = field(default_factory=list)
    by_condition: dict | None = None  # conditions.by_condition, for a set with conditions worth comparing
    exclusions: dict = field(default_factory=dict)  # the pre-registered rules as fixed, and whom each names
    by_device: dict = field(default_factory=dict)  # device class -> its figures under every other rule
    by_group: dict | None = None  # image-set surveys: groups.by_group (per generator, per category)

    @property
    def is_empty(self) -> bool:
        return len(self.answers) == 0

    @property
    def score_values(self) -> np.ndarray:
        """The scores of the histogram (completed, kept participants)."""
        kept = self.participants[(self.participants["excluded"] == "") & self.participants["completed"]]
        return kept["correct"].fillna(0).to_numpy(float)

    def summary_dict(self) -> dict:
        """The figures the page shows, JSON-ready (NaN -> None)."""
        image_fields = ["pool_position", "image_id", "label", "n", "n_right", "share_right", "n_said_ai",
                        "share_said_ai", "mean_confidence", "mean_response_ms", "majority"]
        model_fields = [c for c in self.images.columns if c.startswith(("p_ai ", "right "))]
        return _clean({
            "set": self.set.as_dict(),
            "filters": self.inclusion.as_dict(),  # the JSON key `results --json` has always written
            "participants": self.counts,
            "exclusions": self.exclusions,
            "by_device": self.by_device,
            "scores": self.scores.as_dict(),
            "accuracy": self.accuracy,
            "sdt": {"correction": analysis_scores.SDT_CORRECTION, "pooled": self.sdt_pooled.as_dict(),
                    **self.sdt_mean},
            "response_times": self.response_times,
            "humans": self.humans.as_dict(),
            "models": [m.as_dict() for m in self.models],
            "images": self.images[image_fields + model_fields].to_dict(orient="records"),
            **({"by_condition": self.by_condition} if self.by_condition is not None else {}),
            **({"by_generator": self.by_group["generator"]} if self.by_group and "generator" in self.by_group else {}),
            **({"by_category": self.by_group["category"]} if self.by_group and "category" in self.by_group else {}),
        })


def _clean(value):
    """NaN/inf -> None and numpy scalars -> Python, all the way down."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return analysis_scores._num(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _response_times(answers: pd.DataFrame) -> dict:
    """Medians and means, overall and by correctness; Mann-Whitney U (two-sided)
    of right against wrong answers' times (response times are skewed)."""
    rt = answers["response_ms"].to_numpy(float)
    right = rt[answers["correct"].to_numpy(int) == 1]
    wrong = rt[answers["correct"].to_numpy(int) == 0]
    p = None
    if len(right) and len(wrong):
        p = float(stats.mannwhitneyu(right, wrong, alternative="two-sided").pvalue)
    med = lambda x: float(np.median(x)) if len(x) else None  # noqa: E731
    mean = lambda x: float(np.mean(x)) if len(x) else None  # noqa: E731
    return {"n": int(len(rt)), "median_ms": med(rt), "mean_ms": mean(rt),
            "median_ms_right": med(right), "median_ms_wrong": med(wrong),
            "mean_ms_right": mean(right), "mean_ms_wrong": mean(wrong), "mannwhitney_p": p}


def analyse(engine: Engine, set_id: int, inclusion: Inclusion = Inclusion(),
            predictions: dict[str, np.ndarray] | None = None) -> Results:
    """Everything the Results page shows for one set. `predictions` maps a model
    name to its P(AI) on the set's images in pool order (see predict_set)."""
    info = summary(engine, set_id)
    rules = ExclusionRules.from_dict(info.exclusion_rules)
    all_answers = load_answers(engine, set_id)
    everyone = load_participants(engine, set_id, withdrawn=True)
    left = everyone["withdrawn"].astype(bool).to_numpy()  # numpy: an empty frame keeps its columns
    withdrawn = everyone[left]
    marked = mark_participants(everyone[~left].reset_index(drop=True), all_answers, inclusion, rules)

    kept = marked[marked["excluded"] == ""]
    answering = kept[kept["completed"]] if inclusion.completed_only else kept
    answers = all_answers[all_answers["participant_id"].isin(answering["participant_id"])].reset_index(drop=True)

    figures = analysis_scores.per_participant(all_answers)
    marked = marked.merge(figures.drop(columns=["median_response_ms"]), on="participant_id", how="left")
    marked["answered"] = marked["answered"].fillna(0).astype(int)
    marked["correct"] = marked["correct"].fillna(0).astype(int)
    scored = marked[(marked["excluded"] == "") & marked["completed"]]

    excluded = marked["excluded"].value_counts().to_dict()
    counts = {
        "total": int(len(marked)),
        "simulated": int(marked["is_simulated"].sum()),
        "completed": int((kept["completed"]).sum()),
        # Started but did not finish: saw at least the first image. Those who only
        # consented (never saw an image) are counted apart.
        "incomplete": int((~kept["completed"].astype(bool) & kept["saw_first_image"].astype(bool)).sum()),
        "consented_only": int((~kept["saw_first_image"].astype(bool)).sum()),
        "excluded": int(len(marked) - len(kept)),
        "excluded_by": {reason: int(excluded.get(reason, 0)) for reason in EXCLUSION_REASONS},
        "in_score_distribution": int(len(scored)),
        "answers_analysed": int(len(answers)),
        # Withdrew: not in `total` nor anywhere else, and in no export (previews who withdrew not even here).
        "withdrawn": int((~withdrawn["is_preview"].astype(bool)).sum()),
    }

    hits, misses, fas, crs = analysis_scores.sdt_counts(answers)
    real, fake = answers[answers["label"] == REAL], answers[answers["label"] == FAKE]
    accuracy = {
        "overall": float(answers["correct"].mean()) if len(answers) else None,
        "real": float(real["correct"].mean()) if len(real) else None,
        "fake": float(fake["correct"].mean()) if len(fake) else None,
        "n_real": int(len(real)), "n_fake": int(len(fake)),
    }
    sdt_mean = {"mean_dprime": _mean(scored["dprime"]), "mean_criterion": _mean(scored["criterion"])}

    images = analysis_images.per_image(load_images(engine, set_id), answers)
    comparisons = []
    for key, p_ai in (predictions or {}).items():
        p_ai = np.asarray(p_ai, dtype=float)
        if len(p_ai) != len(images):
            raise StudyError(f"model {key} gave {len(p_ai)} predictions for a set of {len(images)} images")
        images[f"p_ai {key}"] = p_ai
        said_ai = predicted_labels(p_ai)
        images[f"right {key}"] = said_ai == images["label"]
        images[f"agrees {key}"] = np.where(images["majority"].isna(), "no majority",
                                           np.where(said_ai == images["majority"], "yes", "no"))
        comparisons.append(analysis_models.compare_model(key, images, p_ai))

    return Results(
        set=info, inclusion=inclusion, participants=marked, answers=answers, counts=counts,
        scores=analysis_scores.score_summary(scored["correct"].to_numpy(float), info.size),
        accuracy=accuracy, sdt_pooled=analysis_scores.signal_detection(hits, misses, fas, crs), sdt_mean=sdt_mean,
        images=images, humans=analysis_models.compare_humans(answers, images),
        response_times=_response_times(answers), models=comparisons,
        by_condition=(analysis_conditions.by_condition(info.conditions, answers, scored, info.size)
                      if analysis_conditions.wanted(info.conditions) else None),
        exclusions=_exclusions(marked, rules, inclusion),
        by_device=_by_device(marked, all_answers, inclusion, info.size),
        by_group=analysis_groups.by_group(answers, analysis_groups.image_groups(engine, info.source), images,
                                          tuple(c.key for c in comparisons)),
    )


def _exclusions(marked: pd.DataFrame, rules: ExclusionRules, inclusion: Inclusion) -> dict:
    """The set's pre-registered rules as fixed, whether they were applied, and per rule
    the participants it names (None: the rule is not pre-registered), counted among
    the set's participants before the ad-hoc filters (previews never; simulated ones
    only when included). One person may meet several rules; `excluded` counts them once."""
    pool = marked[~marked["excluded"].isin(["preview", "simulated"])]
    named = pool["excluded_by_rules"].str.split(";")
    on = {"failed_checks": rules.failed_checks, "speeder": bool(rules.speeder_ms), "incomplete": rules.incomplete}
    return {
        "rules": rules.as_dict(),
        "applied": bool(inclusion.preregistered),
        **{rule: int(named.apply(lambda names, r=rule: r in names).sum()) if on[rule] else None for rule in RULES},
        "excluded": int((pool["excluded_by_rules"] != "").sum()),
    }


def _by_device(marked: pd.DataFrame, all_answers: pd.DataFrame, inclusion: Inclusion, set_size: int) -> dict:
    """Per device class (DEVICE_OPTIONS), the participants who count under every rule but
    the device filter: n, completed, answers analysed, accuracy (share of those answers
    right) and mean score of the completed; figures from fewer than 2 participants None.
    `included` says whether the device filter keeps the class."""
    eligible = marked[marked["excluded"].isin(["", "device"])]
    devices = device_of(eligible["device_class"])
    out = {}
    for name in DEVICE_OPTIONS:
        people = eligible[devices == name]
        answering = people[people["completed"]] if inclusion.completed_only else people
        rows = all_answers[all_answers["participant_id"].isin(answering["participant_id"])]
        scores = people.loc[people["completed"], "correct"].to_numpy(float)
        enough = rows["participant_id"].nunique() >= analysis_conditions.MIN_PARTICIPANTS
        out[name] = {
            "included": inclusion.device_classes is None or name in inclusion.device_classes,
            "n": int(len(people)), "n_completed": int(people["completed"].sum()), "n_answers": int(len(rows)),
            "accuracy": float(rows["correct"].mean()) if enough else None,
            "mean_score": float(scores.mean()) if len(scores) >= analysis_conditions.MIN_PARTICIPANTS else None,
            "set_size": int(set_size),
        }
    return out


RULE_TEXT = {"failed_checks": "failed an attention check", "incomplete": "did not answer every image"}


def exclusion_text(exclusions: dict, withdrawn: int) -> str:
    """The pre-registered exclusion rules as fixed with the set, whom each names and
    whether they were applied; and how many withdrew. One sentence each."""
    rules = exclusions["rules"]
    what = {**RULE_TEXT, "speeder": f"median response time below {rules['speeder_ms']} ms"}
    named = [f"{what[rule]}: {exclusions[rule]}" for rule in RULES if exclusions[rule] is not None]
    if not named:
        text = "Pre-registered exclusion rules: none."
    else:
        applied = ("left out of every figure" if exclusions["applied"] else
                   "NOT applied (a sensitivity check: they are part of the pre-registration)")
        text = (f"Pre-registered exclusion rules (fixed before anybody consented): {'; '.join(named)}; "
                f"{exclusions['excluded']} in all (one person may meet several), {applied}."
                + (" The other filters come on top of them." if exclusions["applied"] else ""))
    return text + (f" {withdrawn} withdrew: counted nowhere, in no export." if withdrawn else " Nobody withdrew.")


def device_table(by_device: dict) -> pd.DataFrame:
    """by_device as the page shows it: one row per device class."""
    rows = [{"device": name, "counted": "yes" if d["included"] else "no", "participants": d["n"],
             "completed": d["n_completed"], "answers": d["n_answers"],
             "accuracy": analysis_conditions.NOT_ENOUGH if d["accuracy"] is None else f"{100 * d['accuracy']:.1f}%",
             "mean score": (analysis_conditions.NOT_ENOUGH if d["mean_score"] is None
                            else f"{d['mean_score']:.2f} of {d['set_size']}")}
            for name, d in by_device.items()]
    return pd.DataFrame(rows, columns=["device", "counted", "participants", "completed", "answers", "accuracy",
                                       "mean score"])


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def demographic_options(participants: pd.DataFrame, column: str) -> list[str]:
    """The values a demographic filter can choose from in this set (SKIPPED for None)."""
    return sorted(set(participants[column].fillna(SKIPPED).astype(str)))


def counted_answers(answers: pd.DataFrame, inclusion: Inclusion = Inclusion(),
                    rules: ExclusionRules | dict | None = None) -> pd.DataFrame:
    """The answers (load_answers' rows) that the answer-level figures count under
    this inclusion, by the Results page's rule (mark_participants): previews never,
    simulated participants left out unless inclusion.include_simulated, then the set's
    pre-registered `rules` (SetSummary.exclusion_rules), the demographic, speeder and
    device filters, then completed participants only if asked."""
    columns = ["participant_id", "is_simulated", "completed", "age_band", "ai_exposure"]
    extra = [c for c in ("is_preview", "device_class", "checks_failed") if c in answers]
    people = answers.drop_duplicates("participant_id")[columns + extra]
    if isinstance(rules, dict):
        rules = ExclusionRules.from_dict(rules)
    marked = mark_participants(people, answers, inclusion, rules)
    kept = marked[(marked["excluded"] == "") & (marked["completed"] | (not inclusion.completed_only))]
    return answers[answers["participant_id"].isin(kept["participant_id"])].reset_index(drop=True)
