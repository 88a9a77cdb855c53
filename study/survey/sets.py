"""Survey sets, the researcher's side: which images a survey shows, drawn once
(balanced REAL/FAKE, seeded, never an image whose content occurs twice), and the
draft -> open -> closed life of a set. One set is open at a time, and a set that
people have answered is never replaced without the researcher saying so."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

import db.conditions as qc
import db.survey as q
from study.data import active
from study.data.image_sets import is_image_set
from study.data.imports import stored_rgb
from study.errors import DatasetError, StudyError
from study.labels import FAKE, REAL, class_name
from study.survey import hints as model_hints
from study.survey.checks import ExclusionRules, validate as validate_checks
from study.survey.conditions import Condition, from_row, needs_hints

DEFAULT_SIZE = 15  # the source study's survey length
DISPLAY_PX = 288  # 9x of 32: whole pixels, no blur (the image step, and the hints' Grad-CAM overlays)
DEFAULT_SPLIT = "test"
MAX_ENLARGE = 16
DEMO_SEED = 0
MAX_SIZE = 200
MAX_POOL = 20_000

DEFAULT_CONSENT = """\
**Real photo or AI-generated?** — a short research survey

You will see 15 very small pictures, one at a time, and decide for each whether it
is a real photograph or was made by an AI image generator. It takes about 5 minutes.

- Taking part is voluntary; you can stop at any time by closing the page.
- We store your answers, how long each answer took, and (if you choose to give them)
  your age band and how often you see AI images. We store no name or e-mail address.
- Answers are used for research and may be published in aggregate form.

By ticking the box below you confirm that you are 18 or older and agree to take part."""


@dataclass(frozen=True)
class SetSummary:
    """What the researcher sees about a set (CLI status, admin page)."""

    id: int
    name: str
    source: str
    split: str
    size: int
    seed: int
    design: str
    pool_size: int | None
    status: str
    is_demo: bool
    exclude_sets: tuple[int, ...]  # people who took part in these sets cannot take this one
    consented: int  # agreed to the consent text
    started: int  # saw at least the first image
    completed: int
    answers: int
    withdrawn: int = 0  # consented, then withdrew: their answers are deleted
    previews: int = 0  # researchers trying a condition: in none of the counts above
    conditions: tuple[dict, ...] = ()  # name, hint, hint_timing, feedback, display_ms, shows, counted, previews
    hint_run_id: int | None = None
    attention_checks: int = 0
    exclusion_rules: dict | None = None
    max_enlarge: int | None = None  # image sets: the most a picture is enlarged on screen
    balance_by: str | None = None  # image sets: generator or category, spread evenly in the draw

    def as_dict(self) -> dict:
        return {**self.__dict__, "exclude_sets": list(self.exclude_sets), "conditions": list(self.conditions)}


# --- sampling (pure) ------------------------------------------------------------

def balanced_counts(size: int, rng: np.random.Generator) -> dict[int, int]:
    """size//2 of each label; an odd size gives its extra image to a seeded random label."""
    extra = int(rng.integers(0, 2))
    counts = {REAL: size // 2, FAKE: size // 2}
    if size % 2:
        counts[extra] += 1
    return counts


def sample_balanced(labels: np.ndarray, eligible: np.ndarray, size: int, rng: np.random.Generator,
                    groups: np.ndarray | None = None) -> np.ndarray:
    """Indices of a balanced draw of `size` among eligible rows, in a random order.
    With `groups` (each row's generator or category), each label's share is also
    spread as evenly as the groups' sizes allow."""
    if size < 2:
        raise StudyError(f"a survey needs at least 2 images, got {size}")
    labels = np.asarray(labels)
    eligible = np.asarray(eligible, dtype=bool)
    picked = []
    for label, count in balanced_counts(size, rng).items():
        candidates = np.flatnonzero(eligible & (labels == label))
        if len(candidates) < count:
            raise DatasetError(
                f"need {count} {class_name(label)} images that occur only once in the dataset, "
                f"but only {len(candidates)} are available"
            )
        if groups is None:
            picked.append(rng.choice(candidates, size=count, replace=False))
        else:
            picked.append(_spread(candidates, np.asarray(groups)[candidates], count, rng))
    return rng.permutation(np.concatenate(picked))


def _spread(candidates: np.ndarray, groups: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """count of the candidates, as evenly over their groups as the groups' sizes allow:
    each round gives one more to every group that still has images, in a seeded order."""
    names = sorted(set(groups.tolist()))
    pools = {g: list(rng.permutation(candidates[groups == g])) for g in names}
    chosen: list[int] = []
    while len(chosen) < count:
        for g in rng.permutation(names):
            if pools[g] and len(chosen) < count:
                chosen.append(pools[g].pop())
    return np.array(chosen, dtype=np.int64)


def participant_order(seed: int, participant_id: int, pool_labels: np.ndarray, size: int, design: str) -> np.ndarray:
    """Positions into the set's image list that this participant sees, in order.

    Seeded by (set seed, participant id), so it is the same on every reload and
    can be recomputed by anyone auditing the data."""
    rng = np.random.default_rng([int(seed), int(participant_id)])
    if design == "pool":
        return sample_balanced(pool_labels, np.ones(len(pool_labels), bool), size, rng)
    return rng.permutation(len(pool_labels))


def draw_set_images(dataset, split: str, n_images: int, seed: int, balance_by: str | None = None,
                    ) -> list[tuple[str, int]]:
    """(image id, label) of a balanced, duplicate-free draw from one split (and, for an
    image set, spread over its generators or categories if asked)."""
    eligible = (dataset.splits == split) & (dataset.dup_count == 1)
    if not np.any(dataset.splits == split):
        have = ", ".join(sorted(set(dataset.splits.tolist()))) or "none"
        raise DatasetError(f"split {split!r} is not in this dataset; it has: {have}")
    groups = None
    if balance_by is not None:
        if not hasattr(dataset, "groups"):
            raise StudyError("--balance-by needs an image set with generators or categories (--images set:NAME)")
        groups = dataset.groups(balance_by)
    rows = sample_balanced(dataset.labels, eligible, n_images, np.random.default_rng(int(seed)), groups)
    return [(str(dataset.ids[i]), int(dataset.labels[i])) for i in rows]


# --- sets in the database -------------------------------------------------------

def _check_sizes(size: int, pool: int | None) -> None:
    if not 2 <= size <= MAX_SIZE:
        raise StudyError(f"--size must be between 2 and {MAX_SIZE}, got {size}")
    if pool is not None and not size <= pool <= MAX_POOL:
        raise StudyError(f"--pool must be at least --size ({size}) and at most {MAX_POOL}, got {pool}")


def _close_current(conn, close_current: bool) -> int | None:
    """Close the open set to make room for another; refuse if people answered it."""
    current = q.get_open_set(conn)
    if current is None:
        return None
    counts = q.set_counts(conn, current.id)
    if counts["answers"] and not close_current:
        raise StudyError(
            f"survey set {current.id} ({current.name!r}) is open and has {counts['answers']} answers "
            f"from {counts['started']} participants; close it first (`python -m study survey close`) "
            "or pass --close-current"
        )
    q.set_status(conn, current.id, "closed")
    return current.id


def create_set(
    engine: Engine,
    dataset,
    *,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    split: str | None = None,
    pool: int | None = None,
    open_now: bool = True,
    close_current: bool = False,
    name: str | None = None,
    consent_text: str = DEFAULT_CONSENT,
    exclude_sets: list[int] | None = None,
    conditions: list[Condition] | None = None,
    hint_run_id: int | None = None,
    attention_checks: int = 0,
    exclusion_rules: ExclusionRules | None = None,
    max_enlarge: int | None = None,
    balance_by: str | None = None,
) -> SetSummary:
    """Draw and store a new set from `dataset` (usually active_dataset(engine)).
    exclude_sets: people who took part in these sets cannot take this one; None
    means every earlier set drawn from the same dataset (the same image pool).
    conditions: what each group sees (default: one 'control'); hinted ones need
    hint_run_id, whose verdicts on every image of the set are computed now and frozen.
    attention_checks: catch trials per participant; exclusion_rules: who the results
    leave out (study/survey/checks.py), fixed from now on. For an image set
    (study.data.image_sets.pool): max_enlarge caps how much a picture is enlarged on
    screen (default 1: never), balance_by spreads the draw over generators or categories."""
    _check_sizes(size, pool)
    from_image_set = is_image_set(dataset.source)
    split = split or getattr(dataset, "default_split", DEFAULT_SPLIT)
    if max_enlarge is not None and not from_image_set:
        raise StudyError("--max-enlarge is for image sets (CIFAKE's 32x32 pictures are always shown 9x)")
    if from_image_set:
        max_enlarge = int(max_enlarge or 1)
        if not 1 <= max_enlarge <= MAX_ENLARGE:
            raise StudyError(f"--max-enlarge must be between 1 and {MAX_ENLARGE}, got {max_enlarge}")
    exclusion_rules = exclusion_rules or ExclusionRules()
    validate_checks(attention_checks, size, exclusion_rules)
    conditions = conditions or [Condition("control")]
    if needs_hints(conditions) and hint_run_id is None:
        hinted = ", ".join(c.name for c in conditions if c.shows_hint)
        raise StudyError(f"the condition(s) {hinted} show a model's verdict: say which finished training run "
                         "gives it with --hint-run RUN_ID")
    if hint_run_id is not None and not needs_hints(conditions):
        raise StudyError("--hint-run is only used by the model and model_cam conditions; add one to --conditions")
    run = model_hints.hint_run(engine, hint_run_id) if hint_run_id is not None else None
    if not 0 <= seed < 2**31:
        raise StudyError(f"--seed must be between 0 and {2**31 - 1}, got {seed}")
    excluded = default_exclusions(engine, dataset.fingerprint) if exclude_sets is None else \
        _known_sets(engine, exclude_sets)
    image_rows = draw_set_images(dataset, split, pool or size, seed, balance_by)
    hint_rows = []
    if run is not None:
        ids = tuple(image_id for image_id, _ in image_rows)
        pictures = stored_pictures(ids) if from_image_set else _pictures_of(dataset, ids)
        hint_rows = _hints(run, pictures, dataset.source)
    design = "pool" if pool else "fixed"
    kind = "demo" if dataset.is_demo else dataset.source if from_image_set else "CIFAKE"
    values = dict(
        name=name or f"{kind} {split} {size}" + (f" of {pool}" if pool else "") + f" seed {seed}",
        source=dataset.source,
        fingerprint=dataset.fingerprint,
        split=split,
        size=size,
        seed=seed,
        design=design,
        pool_size=pool,
        consent_text=consent_text,
        status="draft",
        is_demo=bool(dataset.is_demo),
        exclude_sets=excluded,
        hint_run_id=run.run_id if run else None,
        hint_checkpoint_sha256=run.sha256 if run else None,
        attention_checks=int(attention_checks),
        exclusion_rules=exclusion_rules.as_dict(),
        max_enlarge=max_enlarge,
        balance_by=balance_by,
    )
    with q.write_transaction(engine) as conn:
        if open_now:
            _close_current(conn, close_current)
        set_id = _insert_set(conn, values, image_rows, conditions, hint_rows)
        if open_now:
            q.set_status(conn, set_id, "open")  # stamps opened_at
    return summary(engine, set_id)


def _insert_set(conn, values: dict, image_rows, conditions: list[Condition], hint_rows: list[dict]) -> int:
    """The set, its images, its conditions and its frozen hints, in the caller's transaction."""
    set_id = q.insert_set(conn, values, image_rows)
    qc.insert_conditions(conn, set_id, [c.as_dict() for c in conditions])
    if hint_rows:
        qc.insert_hints(conn, set_id, hint_rows)
    return set_id


def set_conditions(engine_or_conn, set_id: int) -> list[tuple[int, Condition]]:
    """(condition id, Condition) of a set, in its order."""
    return [(row.id, from_row(row)) for row in qc.conditions_of(engine_or_conn, set_id)]


def default_exclusions(engine: Engine, fingerprint: str) -> list[int]:
    """The sets a new set excludes unless told otherwise: those of the same image pool."""
    return q.sets_with_fingerprint(engine, fingerprint)


def _known_sets(engine: Engine, set_ids: list[int]) -> list[int]:
    wanted = sorted({int(i) for i in set_ids})
    missing = sorted(set(wanted) - set(q.existing_set_ids(engine, wanted)))
    if missing:
        raise StudyError(f"cannot exclude the participants of set(s) {', '.join(map(str, missing))}: no such set")
    return wanted


def open_set(engine: Engine, set_id: int, close_current: bool = False) -> SetSummary:
    with q.write_transaction(engine) as conn:
        row = _require_set(conn, set_id)
        if row.status != "open":
            _close_current(conn, close_current)
            q.set_status(conn, set_id, "open")
    return summary(engine, set_id)


def close_set(engine: Engine, set_id: int | None = None) -> SetSummary:
    """Close the given set, or the open one. Answers stay; nobody can add more."""
    with q.write_transaction(engine) as conn:
        row = q.get_open_set(conn) if set_id is None else _require_set(conn, set_id)
        if row is None:
            raise StudyError("no survey set is open; nothing to close")
        q.set_status(conn, row.id, "closed")
    return summary(engine, row.id)


def edit_consent(engine: Engine, set_id: int, consent_text: str) -> None:
    """Change the consent text while nobody has consented to the old one yet."""
    if not consent_text.strip():
        raise StudyError("the consent text must not be empty")
    with q.write_transaction(engine) as conn:
        _require_set(conn, set_id)
        people = q.count_real_consents(conn, set_id)  # researchers' previews aside
        if people:
            raise StudyError(
                f"{people} participants have already agreed to this set's consent text; "
                "create a new set to change it"
            )
        q.set_consent_text(conn, set_id, consent_text.strip())


def change_design(
    engine: Engine,
    set_id: int,
    *,
    conditions: list[Condition] | None = None,
    hint_run_id: int | None = None,
    attention_checks: int | None = None,
    exclusion_rules: ExclusionRules | None = None,
) -> SetSummary:
    """Change a set's conditions (with their hints), attention checks or exclusion rules,
    only while nobody has consented to it (researchers' previews aside): afterwards the
    design is what people were randomised into and what was pre-registered."""
    row = _require_set(engine, set_id)
    _refuse_once_consented(engine, set_id)  # first: whatever the change, this is the answer
    conditions = conditions or [c for _, c in set_conditions(engine, set_id)]
    checks_k = row.attention_checks if attention_checks is None else attention_checks
    rules = exclusion_rules or ExclusionRules.from_dict(row.exclusion_rules)
    validate_checks(checks_k, row.size, rules)
    if needs_hints(conditions) and hint_run_id is None:
        hint_run_id = row.hint_run_id
    if needs_hints(conditions) and hint_run_id is None:
        raise StudyError("a model or model_cam condition needs --hint-run RUN_ID")
    run = model_hints.hint_run(engine, hint_run_id) if needs_hints(conditions) else None
    hint_rows = []
    if run is not None and (run.run_id != row.hint_run_id or run.sha256 != row.hint_checkpoint_sha256):
        ids = tuple(r.image_id for r in q.set_images(engine, set_id))
        hint_rows = _hints(run, set_pixels(set_id, row.source, row.fingerprint, ids), row.source)
    with q.write_transaction(engine) as conn:
        q.lock_set_for_change(conn, set_id)
        _refuse_once_consented(conn, set_id)  # again, inside the write: somebody may have just consented
        qc.replace_conditions(conn, set_id, [c.as_dict() for c in conditions])
        if run is None or hint_rows:
            qc.delete_hints(conn, set_id)
        if hint_rows:
            qc.insert_hints(conn, set_id, hint_rows)
        q.update_set(conn, set_id, attention_checks=int(checks_k), exclusion_rules=rules.as_dict(),
                     hint_run_id=run.run_id if run else None, hint_checkpoint_sha256=run.sha256 if run else None)
    return summary(engine, set_id)


def _hints(run, pictures: dict[str, np.ndarray], source: str) -> list[dict]:
    """The frozen hints: an image set's maps at each picture's display size, CIFAKE's
    enlarged with its pictures to DISPLAY_PX."""
    return model_hints.compute_hints(run, pictures, None if is_image_set(source) else DISPLAY_PX)


def _refuse_once_consented(engine_or_conn, set_id: int) -> None:
    people = q.count_real_consents(engine_or_conn, set_id)
    if people:
        raise StudyError(f"{people} people have already consented to set {set_id}: its conditions, attention "
                         "checks and exclusion rules are fixed; create a new set to change them (simulated "
                         "participants count too: `python -m study survey simulate --remove` deletes them)")


def consent_text(engine: Engine, set_id: int) -> str:
    return _require_set(engine, set_id).consent_text


def ensure_open_set(engine: Engine):
    """The open set. On first use (no set at all yet) with CIFAKE not prepared, a
    demo set (size 15, seed 0) is created and opened, so a fresh install has a
    working survey. Returns None when no set is open otherwise (CIFAKE prepared,
    or the researcher closed the sets)."""
    row = q.get_open_set(engine)
    if row is not None:
        return row
    if q.any_set(engine):  # re-read: a concurrent first visitor may have just opened the demo set
        return q.get_open_set(engine)
    dataset = active.active_dataset(engine)
    if not dataset.is_demo:
        return None
    try:
        with q.write_transaction(engine) as conn:
            if not q.any_set(conn):  # another session may have won the race
                values = dict(
                    name=f"demo {DEFAULT_SPLIT} {DEFAULT_SIZE} seed {DEMO_SEED}", source=dataset.source,
                    fingerprint=dataset.fingerprint, split=DEFAULT_SPLIT, size=DEFAULT_SIZE, seed=DEMO_SEED,
                    design="fixed", pool_size=None, consent_text=DEFAULT_CONSENT, status="draft", is_demo=True,
                    exclude_sets=[],
                )
                set_id = _insert_set(conn, values, draw_set_images(dataset, DEFAULT_SPLIT, DEFAULT_SIZE, DEMO_SEED),
                                     [Condition("control")], [])
                q.set_status(conn, set_id, "open")
    except IntegrityError:  # PostgreSQL: the one-open-set index stopped a concurrent twin
        pass
    return q.get_open_set(engine)


def summary(engine: Engine, set_id: int) -> SetSummary:
    row = _require_set(engine, set_id)
    counts = q.set_counts(engine, set_id)
    rules = ExclusionRules.from_dict(row.exclusion_rules)
    counted = qc.counted_per_condition(engine, set_id, simulated=False, failed_checks_count=not rules.failed_checks)
    previews = {r.condition_id: r.n for r in qc.participants_per_condition(engine, set_id) if r.is_preview}
    conditions = tuple(
        {**condition.as_dict(), "shows": condition.describe(), "counted": counted.get(cid, 0),
         "previews": int(previews.get(cid, 0))}
        for cid, condition in set_conditions(engine, set_id)
    )
    return SetSummary(
        id=row.id, name=row.name, source=row.source, split=row.split, size=row.size, seed=row.seed,
        design=row.design, pool_size=row.pool_size, status=row.status, is_demo=bool(row.is_demo),
        exclude_sets=tuple(row.exclude_sets or ()), **counts, conditions=conditions, hint_run_id=row.hint_run_id,
        attention_checks=int(row.attention_checks or 0),
        exclusion_rules=ExclusionRules.from_dict(row.exclusion_rules).as_dict(),
        max_enlarge=row.max_enlarge, balance_by=row.balance_by,
    )


def open_summary(engine: Engine) -> SetSummary | None:
    row = q.get_open_set(engine)
    return summary(engine, row.id) if row else None


def all_summaries(engine: Engine) -> list[SetSummary]:
    return [summary(engine, row.id) for row in q.list_sets(engine)]


def _require_set(engine_or_conn, set_id: int):
    row = q.get_set(engine_or_conn, set_id)
    if row is None:
        raise StudyError(f"no survey set with id {set_id}")
    return row


# --- the set's pixels -----------------------------------------------------------

def set_pixels(set_id: int, source: str, fingerprint: str, image_ids: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The set's pictures by id as the models start from them: CIFAKE's 32x32 pixels
    (read once per process from the dataset the set was drawn from), or an image set's
    stored pictures at their own size (decoded on each call: they can be large)."""
    if is_image_set(source):
        return stored_pictures(image_ids)
    return _dataset_pixels(set_id, source, fingerprint, image_ids)


def stored_pictures(image_ids: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {image_id: stored_rgb(image_id) for image_id in image_ids}


@lru_cache(maxsize=8)
def _dataset_pixels(set_id: int, source: str, fingerprint: str, image_ids: tuple[str, ...]) -> dict[str, np.ndarray]:
    dataset = active.dataset_by_source(source)
    if dataset.fingerprint != fingerprint:
        raise DatasetError(
            f"survey set {set_id} was drawn from a different version of {source} "
            "(its fingerprint changed); prepare the original data again or create a new set"
        )
    return _pictures_of(dataset, image_ids)


def _pictures_of(dataset, image_ids: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {image_id: np.asarray(dataset.images[dataset.index_of(image_id)]) for image_id in image_ids}
