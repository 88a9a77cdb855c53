"""Errors that a person caused and can fix: the CLI prints them as one line and
exits 2, the pages show them with st.error. Anything else is a bug and keeps
its traceback."""


class StudyError(Exception):
    """Bad input or a missing prerequisite, with a message that says what to do."""


class DatasetError(StudyError):
    """A dataset source that cannot be read as CIFAKE's layout."""


class DownloadError(StudyError):
    """Weights or data that cannot be fetched (e.g. no internet)."""
