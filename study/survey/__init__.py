"""The survey wing: survey sets (balanced, duplicate-free, seeded), the participant
flow from consent to score, scoring, simulated participants and the answers
export, and the study's conditions (what each group sees: the model's hints).
May import study.ml (hints only, lazily: the survey page stays free of torch),
study.data, db and study's base modules; never analysis, streamlit, pages or the
CLI. This package's names are the survey in one import:

sets.py        the researcher's side: draw, open, close, consent text, conditions
conditions.py  what a condition shows (hint, its timing, feedback, display time)
hints.py       the model's verdicts, computed once per set and frozen
assignment.py  balanced assignment of participants to conditions
checks.py      attention checks and the pre-registered exclusion rules
device.py      the coarse device class (desktop, mobile, tablet)
flow.py        consent -> questions -> instructions -> images -> results
timing.py    response-time arithmetic (closed spans left out)
scoring.py   a participant's score
simulate.py  simulated participants, to try the Results page
export.py    answers as CSV with a data dictionary
db/survey.py the queries
"""
from study.survey.scoring import Score, ScoredAnswer, score
from study.survey.export import answers_csv, data_dictionary
from study.survey.flow import (
    AGE_BANDS,
    AI_EXPOSURE,
    ALREADY_TOOK_PART,
    INSTRUCTIONS_GUARD_MS,
    NEW_IMAGE_GUARD_MS,
    QUESTIONS_GUARD_MS,
    AlreadyTookPart,
    AnswerOutcome,
    ConsentChanged,
    Step,
    SurveyLinkError,
    Visit,
    answer_questions,
    begin,
    consent,
    consent_digest,
    current_step,
    parse_query,
    render_png,
    continue_after_feedback,
    start_preview,
    submit_answer,
    submit_check,
    submit_first_answer,
    withdraw,
    withdraw_by_code,
)
from study.survey.conditions import Condition, parse_conditions
from study.survey.sets import (
    DEFAULT_CONSENT,
    DEFAULT_SIZE,
    MAX_ENLARGE,
    SetSummary,
    all_summaries,
    change_design,
    close_set,
    consent_text,
    create_set,
    default_exclusions,
    edit_consent,
    ensure_open_set,
    open_set,
    open_summary,
    participant_order,
    sample_balanced,
    set_conditions,
    summary,
)

__all__ = [  # the names this facade re-exports on purpose
    "Score", "ScoredAnswer", "score", "answers_csv", "data_dictionary", "AGE_BANDS", "AI_EXPOSURE",
    "ALREADY_TOOK_PART", "INSTRUCTIONS_GUARD_MS", "NEW_IMAGE_GUARD_MS", "QUESTIONS_GUARD_MS",
    "AlreadyTookPart", "AnswerOutcome", "ConsentChanged", "Step", "SurveyLinkError", "Visit",
    "answer_questions", "begin", "consent", "consent_digest", "current_step", "parse_query", "render_png",
    "submit_answer", "DEFAULT_CONSENT", "DEFAULT_SIZE", "MAX_ENLARGE", "SetSummary", "all_summaries", "close_set",
    "consent_text", "create_set", "default_exclusions", "edit_consent", "ensure_open_set", "open_set",
    "open_summary", "participant_order", "sample_balanced", "summary", "Condition", "parse_conditions",
    "set_conditions", "start_preview", "submit_first_answer", "continue_after_feedback", "submit_check",
    "withdraw", "withdraw_by_code", "change_design",
]
