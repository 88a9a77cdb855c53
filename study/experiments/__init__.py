"""The experiments wing: the paper's reproductions (Tables 1, 3, 4, the sweeps and
the augmentation experiment): their plan, runner, progress file, written report,
the view the pages draw, charts, and the reports on disk. May import study.ml
and study.data; never the survey or analysis wings, streamlit, pages or the CLI."""
