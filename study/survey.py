"""The survey in one import: sets (researcher side), the participant flow,
scoring and the export. The rooms behind it:

study/survey_sets.py   balanced, duplicate-free, seeded sets; open/close; demo set
study/survey_flow.py   consent -> questions -> instructions -> images -> results
study/scoring.py       a participant's score
study/survey_export.py answers as CSV with a data dictionary
db/survey.py           the queries
"""
from study.scoring import Score, ScoredAnswer, score
from study.survey_export import answers_csv, data_dictionary
from study.survey_flow import (
    AGE_BANDS,
    AI_EXPOSURE,
    ALREADY_TOOK_PART,
    ANSWER_LABELS,
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
from study.survey_sets import (
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

__all__ = [name for name in dir() if not name.startswith("_")]
