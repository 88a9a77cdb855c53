"""The researcher's Survey sets page (app_pages/survey_admin.py) through Streamlit's AppTest."""
from apptest_helpers import researcher_page, texts


def test_the_survey_sets_page_creates_a_set_from_the_demo_pool(study_home):
    at = researcher_page("survey_admin.py", timeout=30).run()
    assert not at.exception
    next(b for b in at.button if b.label == "Create set").click()
    at.run()
    assert not at.error and [m.value for m in at.metric] == ["0", "0", "0", "0"]
    assert "demo — synthetic images, not CIFAKE" in texts(at)
