"""The survey wing: survey sets (balanced, duplicate-free, seeded), the participant
flow from consent to score, scoring, simulated participants and the answers
export. May import study.data, db and study's base modules; never analysis, ml,
streamlit, pages or the CLI. This package's names are the survey in one import:

sets.py      the researcher's side: draw, open, close, consent text
flow.py      consent -> questions -> instructions -> images -> results
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
    submit_answer,
)
from study.survey.sets import (
    DEFAULT_CONSENT,
    DEFAULT_SIZE,
    SetSummary,
    all_summaries,
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
    summary,
)

__all__ = [  # the names this facade re-exports on purpose
    "Score", "ScoredAnswer", "score", "answers_csv", "data_dictionary", "AGE_BANDS", "AI_EXPOSURE",
    "ALREADY_TOOK_PART", "INSTRUCTIONS_GUARD_MS", "NEW_IMAGE_GUARD_MS", "QUESTIONS_GUARD_MS",
    "AlreadyTookPart", "AnswerOutcome", "ConsentChanged", "Step", "SurveyLinkError", "Visit",
    "answer_questions", "begin", "consent", "consent_digest", "current_step", "parse_query", "render_png",
    "submit_answer", "DEFAULT_CONSENT", "DEFAULT_SIZE", "SetSummary", "all_summaries", "close_set",
    "consent_text", "create_set", "default_exclusions", "edit_consent", "ensure_open_set", "open_set",
    "open_summary", "participant_order", "sample_balanced", "summary",
]
