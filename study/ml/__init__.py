"""The machine-learning wing: a training's recipe (recipe.py, TrainConfig; no
torch, so the CLI and the plan read it cheaply; the paper's recipe and the
fast detector's preset), the training loop on preloaded uint8 tensors, the
temperature fit and calibration figures (calibration.py), evaluation, devices,
live prediction with Grad-CAM, and the records of runs.
May import study.data, models and db; never the survey or analysis wings,
streamlit, pages or the CLI."""
