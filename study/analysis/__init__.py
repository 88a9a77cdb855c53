"""The analysis wing: what the study found, computed from the database for one
survey set (results, participants' scores and d', image-by-image tables, humans
vs models, the conditions compared, per generator and category on image sets, the participants export). May import study.survey, study.ml,
study.data, db and models; never streamlit, pages or the CLI.
The Results page and `python -m study results` call analyse() and show what it returns."""
from study.analysis.results import (
    DEVICE_OPTIONS,
    SKIPPED,
    UNKNOWN_DEVICE,
    Inclusion,
    Results,
    analyse,
    default_set_id,
    demographic_options,
    device_table,
    exclusion_text,
    load_answers,
    load_images,
    load_participants,
    mark_participants,
    resolve_set_id,
    set_image_pixels,
    set_picture,
    set_thumbnails,
)

__all__ = [  # the names this facade re-exports on purpose
    "DEVICE_OPTIONS", "SKIPPED", "UNKNOWN_DEVICE", "Inclusion", "Results", "analyse", "default_set_id",
    "demographic_options", "device_table", "exclusion_text", "load_answers", "load_images", "load_participants", "mark_participants", "resolve_set_id", "set_image_pixels", "set_picture",
    "set_thumbnails",
]
