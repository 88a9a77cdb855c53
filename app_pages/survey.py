"""The participant's survey: consent, optional questions, instructions, the
images one by one, the score. Reads top to bottom as what the person sees; where
they are comes from the database (study/survey/flow.py), keyed on ?p=TOKEN, and
the browser remembers its token (ui/participant_memory.py).
Widget keys and everything on the page use the position shown, never an image
id (CIFAKE's file names give the label away). Images go out as the PNG bytes the
flow made, never re-encoded (st.image would make a JPEG of them by default)."""
import streamlit as st

from study import survey
from study.survey import flow as survey_flow
from study.data.demo import DEMO_NOTE
from study.errors import StudyError
from study.labels import FAKE, REAL, answer_name
from ui import participant_memory, stimulus_timer
from ui.resources import engine as study_engine

engine = study_engine()
st.title(f"{answer_name(REAL)} or {answer_name(FAKE)}?")

HALF_COLUMN_PX = 340  # half of the centred layout's ~704 px column, less the gap between two columns
TOO_SOON = {
    "questions": "That click came less than a second after these questions appeared, so it was not counted "
                 "(it was probably the second half of a double click). Please answer, or skip, again.",
    "instructions": "Please read the instructions first: that click came just after they appeared, so it was "
                    "not counted. Click **Start** when you are ready.",
    "image": "That click came less than a second after this picture appeared, so it was not counted "
             "(it was probably meant for the previous picture). Please look at this picture and answer again.",
    "feedback": "That click came just after this page appeared, so it was not counted. "
                "Click **Next picture** when you are ready.",
}
ANSWERED_ELSEWHERE = ("Picture {k} had already been answered in another window or tab, so this answer was not "
                      "recorded; the answer given there is kept. This window now shows the next picture.")


def notice(message: str) -> None:
    st.session_state["survey_notice"] = message


def show_notice_from_last_click() -> None:
    message = st.session_state.pop("survey_notice", None)
    if message:
        st.warning(message)


def record_answer(token: str, position: int, answer: int) -> None:
    confidence = st.session_state.get(f"confidence-{position}")
    answered_here = st.session_state.setdefault("answered_here", set())
    try:
        outcome = survey.submit_answer(
            engine, token, position, answer, confidence, min_response_ms=survey_flow.NEW_IMAGE_GUARD_MS,
        )
    except StudyError as err:
        notice(str(err))
        return
    if outcome.status == "stored":
        answered_here.add((token, position))
    elif outcome.status == "too_soon":
        notice(TOO_SOON["image"])
    elif outcome.status == "duplicate" and (token, position) not in answered_here:
        notice(ANSWERED_ELSEWHERE.format(k=position))


def record_first_answer(token: str, position: int, answer: int) -> None:
    """after_first conditions: the answer before the model's hint."""
    try:
        outcome = survey.submit_first_answer(engine, token, position, answer,
                                             min_response_ms=survey_flow.NEW_IMAGE_GUARD_MS)
    except StudyError as err:
        notice(str(err))
        return
    if outcome.status == "too_soon":
        notice(TOO_SOON["image"])


def record_check(token: str, ordinal: int, answer: int) -> None:
    try:
        outcome = survey.submit_check(engine, token, ordinal, answer, min_response_ms=survey_flow.NEW_IMAGE_GUARD_MS)
    except StudyError as err:
        notice(str(err))
        return
    if outcome == "too_soon":
        notice(TOO_SOON["image"])


def record_feedback_seen(token: str, position: int) -> None:
    if survey.continue_after_feedback(engine, token, position,
                                      min_shown_ms=survey_flow.NEW_IMAGE_GUARD_MS) == "too_soon":
        notice(TOO_SOON["feedback"])


def record_withdrawal(token: str) -> None:
    survey.withdraw(engine, token)


def withdraw_action(token: str) -> None:
    """On every page after consent, as the consent text promises."""
    with st.expander("Withdraw from this study"):
        st.markdown("You can stop at any time. If you withdraw, **every answer you gave is deleted now** "
                    "and cannot be restored.")
        sure = st.checkbox("Yes, delete my answers", key="withdraw-sure")
        st.button("Withdraw and delete my answers", key="withdraw", disabled=not sure,
                  on_click=record_withdrawal, args=(token,))


def answer_buttons(what: str, on_click, args: tuple) -> None:
    """The two answers; keys answer-real-WHAT and answer-ai-WHAT (never an image id)."""
    real, fake = st.columns(2)
    real.button(answer_name(REAL), key=f"answer-real-{what}", type="primary", width="stretch", shortcut="P",
                on_click=on_click, args=(*args, REAL))
    fake.button(answer_name(FAKE), key=f"answer-ai-{what}", type="primary", width="stretch", shortcut="A",
                on_click=on_click, args=(*args, FAKE))


def record_questions(token: str, skip: bool) -> None:
    age = None if skip else st.session_state.get("age")
    exposure = None if skip else st.session_state.get("exposure")
    if survey.answer_questions(engine, token, age, exposure,
                               min_shown_ms=survey_flow.QUESTIONS_GUARD_MS) == "too_soon":
        notice(TOO_SOON["questions"])


def record_start(token: str) -> None:
    if survey.begin(engine, token, min_shown_ms=survey_flow.INSTRUCTIONS_GUARD_MS) == "too_soon":
        notice(TOO_SOON["instructions"])


def record_consent(visit: survey.Visit, pending_token: str, consent_hash: str) -> None:
    try:
        token = survey.consent(engine, visit, token=pending_token, consent_hash=consent_hash,
                               user_agent=st.context.headers.get("User-Agent"))
    except StudyError as err:  # the text changed meanwhile, already took part, survey closed
        notice(str(err))
        return
    st.query_params["p"] = token  # this run goes on to the questions


def show_completion_code(code: str | None) -> None:
    if code:
        st.markdown("Your completion code — enter it on Prolific (or give it to the researcher) "
                    "to show that you finished the survey:")
        st.code(code, language=None)


def go_to(token: str) -> None:
    st.query_params["p"] = token
    st.rerun()


query = {key: st.query_params.get_all(key) for key in st.query_params.keys()}
try:
    visit = survey.parse_query(query)
    step = survey.current_step(engine, visit, participant_memory.remembered_tokens())
except StudyError as err:
    st.error(str(err))
    st.stop()

if step.crisp:  # browsers smooth enlarged images (and any on high-DPI screens): keep the pixels square
    st.html("<style>img { image-rendering: pixelated; }</style>")
if step.stage == "resume":
    go_to(step.token)
if step.survey is not None and step.survey.is_demo:
    st.warning(f"**{DEMO_NOTE}**: this survey shows the app's synthetic demo pictures, not the study's images.")
show_notice_from_last_click()

if step.stage == "not_open":
    st.info("The survey is not open at the moment. Please try again later.")

elif step.stage == "already_took_part":
    st.info(survey.ALREADY_TOOK_PART)

elif step.stage == "closed":
    saved = "Your answer so far is saved" if step.answered == 1 else f"Your {step.answered} answers so far are saved"
    kept = f"{saved} and will be kept." if step.answered else "Nothing you did so far is lost."
    st.info(
        "**The researchers have closed this survey for now**, so no more answers can be recorded. "
        f"{kept} There is nothing else you need to do. If the survey opens again, come back to this page "
        "(or the link you were given) to continue where you stopped."
    )

elif step.stage == "consent":
    st.markdown(step.survey.consent_text)
    # The tick belongs to this text: a changed text needs a new tick.
    agreed = st.checkbox("I have read the information above and agree to take part.",
                         key=f"agree-{step.survey.consent_hash[:16]}")
    st.button("Continue", key="consent-continue", type="primary", disabled=not agreed,
              on_click=record_consent, args=(visit, step.pending_token, step.survey.consent_hash))

elif step.stage == "questions":
    st.subheader("Two optional questions")
    st.caption("You may skip them.")
    st.selectbox("Your age", survey.AGE_BANDS, index=None, placeholder="Prefer not to say", key="age")
    st.radio("How often do you see images you know are AI-generated?", survey.AI_EXPOSURE, index=None,
             key="exposure")
    left, right = st.columns(2)
    left.button("Continue", key="questions-continue", type="primary", on_click=record_questions,
                args=(step.token, False))
    right.button("Skip these questions", key="questions-skip", on_click=record_questions, args=(step.token, True))

elif step.stage == "instructions":
    st.subheader("How it works")
    st.markdown(
        f"""
You will see **{step.survey.size} pictures**, one at a time. For each, decide whether it is a
**real photo** taken with a camera or an image **generated by AI**.

- The pictures are **tiny** (32 × 32 pixels) and are shown **enlarged**, so they look blocky.
  That is expected: judge the picture as it is.
- Click **{answer_name(REAL)}** or **{answer_name(FAKE)}**. With the keyboard: press **Tab** to move to a
  button and **Enter** to press it, or use the shortcuts **P** (real photo) and **A** (AI-generated).
- You may say how sure you are (1 = guessing, 5 = certain); it is optional.
- Go with your impression; an answer cannot be changed once given.
- If the page is reloaded or you come back to this link, you continue where you stopped.
"""
    )
    st.button("Start", key="instructions-start", type="primary", on_click=record_start, args=(step.token,))

elif step.stage == "withdrawn":
    st.info("You have withdrawn from this study and your answers have been deleted. Thank you for your time.")

elif step.stage == "feedback":
    item = step.feedback
    st.progress(step.answered / step.survey.size, text=f"Image {item.position} of {step.survey.size}")
    st.image(item.thumbnail_png, width=item.width, output_format="PNG")
    if item.correct:
        st.success(f"Right: it is *{answer_name(item.label)}*.", icon=":material/check_circle:")
    else:
        st.error(f"Not right: you said *{answer_name(item.answer)}*; it is *{answer_name(item.label)}*.",
                 icon=":material/cancel:")
    st.button("Next picture", key=f"feedback-next-{item.position}", type="primary",
              on_click=record_feedback_seen, args=(step.token, item.position))

elif step.stage == "check":
    st.progress(step.answered / step.survey.size, text=f"Image {step.position} of {step.survey.size}")
    st.image(step.image_png, width=survey_flow.DISPLAY_PX, output_format="PNG")
    answer_buttons(f"check-{step.check}", record_check, (step.token, step.check))

elif step.stage == "image" and step.display_left_ms == 0:
    k, n = step.position, step.survey.size
    st.progress(step.answered / n, text=f"Image {k} of {n}")
    st.info("The picture is hidden now. Please give your answer.", icon=":material/visibility_off:")
    if step.hint is not None:
        st.info(step.hint.words, icon=":material/smart_toy:")
    if step.phase == "final":
        st.markdown(f"You first said *{answer_name(step.first_answer)}*. What is your **final answer**?")
    if step.phase == "first":
        answer_buttons(f"{k}-first", record_first_answer, (step.token, k))
    else:
        st.radio("How sure are you? (optional)", [1, 2, 3, 4, 5], index=None, horizontal=True,
                 key=f"confidence-{k}", captions=["guessing", "", "", "", "certain"])
        answer_buttons(f"{k}", record_answer, (step.token, k))

elif step.stage == "image":
    k, n = step.position, step.survey.size
    st.progress(step.answered / n, text=f"Image {k} of {n}")
    if step.display_left_ms is not None:
        st.caption(f"The picture is shown for {step.condition.display_ms / 1000:g} seconds; "
                   "you can answer after it is hidden.")
        stimulus_timer.hide_images_after(step.display_left_ms, key=f"timer-{k}")
    if step.hint is not None and step.hint.cam_png is not None:
        # Side by side only where both fit half the column; a wider picture would spill over its
        # map (Streamlit does not shrink a fixed-width image into a column), so the map goes below.
        beside = step.display_width <= HALF_COLUMN_PX
        picture, evidence = st.columns(2) if beside else (st.container(), st.container())
        picture.image(step.image_png, width=step.display_width, output_format="PNG", caption="The picture")
        evidence.image(step.hint.cam_png, width=step.display_width, output_format="PNG",
                       caption="Where the AI model looked: warm colours weighed most in its verdict")
    else:
        st.image(step.image_png, width=step.display_width, output_format="PNG")
    if step.hint is not None:
        st.info(step.hint.words, icon=":material/smart_toy:")
    if step.phase == "final":
        st.markdown(f"You first said *{answer_name(step.first_answer)}*. Now that you have seen the model's "
                    "verdict, what is your **final answer**? (It may be the same.)")
    if step.phase == "first":
        answer_buttons(f"{k}-first", record_first_answer, (step.token, k))
    else:
        st.radio(
            "How sure are you? (optional)", [1, 2, 3, 4, 5], index=None, horizontal=True, key=f"confidence-{k}",
            captions=["guessing", "", "", "", "certain"],
        )
        answer_buttons(f"{k}", record_answer, (step.token, k))

elif step.stage == "done" and step.condition is not None and step.condition.feedback == "none":
    st.success("Thank you! All your answers are recorded.")
    show_completion_code(step.completion_code)

elif step.stage == "done":
    st.success(f"Thank you! You got **{step.score.correct} of {step.score.total}** right.")
    show_completion_code(step.completion_code)
    st.subheader("Your answers")
    for item in step.results:
        picture, words = st.columns([1, 4], vertical_alignment="center")
        picture.image(item.thumbnail_png, width=item.width, output_format="PNG")
        mark = ":green[:material/check_circle: right]" if item.correct else ":red[:material/cancel: wrong]"
        words.markdown(
            f"**Image {item.position}** — you said *{answer_name(item.answer)}*; "
            f"it is *{answer_name(item.label)}*. {mark}"
        )

if step.token and step.stage in ("questions", "instructions", "image", "feedback", "check", "done", "closed"):
    withdraw_action(step.token)

# Last, so that the (invisible) cookie writer never shifts what the person sees.
if step.token or step.pending_token:
    participant_memory.remember(step.token or step.pending_token)
