"""Models on pictures of any size (issue #15, item 4): every model takes a picture's
centre square at the side it was trained on (CIFAKE's uploads unchanged), its
Grad-CAM is drawn over the whole picture with the unseen part dimmed, an image set
trains and evaluates at a chosen side from the same kind of cache as CIFAKE, and
predictions, hints and the per-generator results run on imported pictures."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from db import open_database
from helpers import run_cli
from models import explain as cam
from study import survey
from study.config import get_settings
from study.data.active import load_source
from study.data.image_sets import pool
from study.data.imports import import_images, stored_rgb
from study.data.model_view import model_view
from study.data.uploads import decode_image
from study.errors import StudyError
from study.ml import live


def picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


@pytest.fixture
def engine(study_home):
    return open_database(get_settings().database_url)


@pytest.fixture
def own_set(engine, tmp_path):
    """24 pictures listed in a manifest: 12 photos, 6 of generator gen_a, 6 of gen_b, in three sizes."""
    root = tmp_path / "own"
    (root / "files").mkdir(parents=True)
    lines = ["path,label,generator,category"]
    sizes = [(200, 300), (64, 64), (80, 50)]
    for n in range(24):
        label, generator = ("real", "") if n < 12 else ("fake", "gen_a" if n < 18 else "gen_b")
        height, width = sizes[n % 3]
        Image.fromarray(picture(height, width, seed=n)).save(root / f"files/{n}.png")
        lines.append(f"files/{n}.png,{label},{generator},")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    import_images(engine, root, "own")
    return pool(engine, "set:own")


def lenet_checkpoint(path, input_side: int | None):
    import torch

    from models.checkpoint import save_checkpoint
    from models.zoo import create_model

    torch.manual_seed(0)
    extra = {"train_config": {"filter": None}, **({"input_side": input_side} if input_side else {})}
    return save_checkpoint(path, create_model("lenet"), extra=extra)


# --- the one rule ------------------------------------------------------------------

def test_a_model_sees_the_centre_square_at_its_side_and_uploads_keep_cifakes_view():
    rgb = picture(200, 300)
    view = model_view(rgb, 32)
    expected = np.asarray(Image.fromarray(rgb[:, 50:250]).resize((32, 32), Image.Resampling.LANCZOS))
    assert view.box == (50, 0, 200) and np.array_equal(view.pixels, expected) and not view.whole
    assert view.steps == ["centre-cropped 300x200 to 200x200", "resized 200x200 to 32x32 (LANCZOS)"]
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    decoded = decode_image(buffer.getvalue(), name="a.png")
    assert np.array_equal(decoded.pixels, view.pixels)  # CIFAKE's 32x32 view of an upload: the same rule
    assert np.array_equal(decoded.original, rgb) and decoded.reading_steps == ()
    small = picture(32, 32)
    assert model_view(small, 32).steps == [] and model_view(small, 32).whole


def test_the_map_covers_the_seen_square_of_the_whole_picture_and_the_rest_is_dimmed():
    rgb = picture(400, 600)
    heat = np.zeros((32, 32), np.float32)
    heat[:, :16] = 1.0  # the left half of what the model saw
    plain = cam.overlay_on_original(rgb, heat, (100, 0, 400), opacity=0.0)
    assert plain.shape == (400, 600, 3)
    assert np.array_equal(plain[:, 100:500], rgb[:, 100:500])  # opacity 0: the seen square is the picture
    assert (np.abs(plain[:, :100].astype(int) - 128) < np.abs(rgb[:, :100].astype(int) - 128)).mean() > 0.9
    hot = cam.overlay_on_original(rgb, heat, (100, 0, 400), opacity=1.0)
    assert hot[200, 150, 0] > hot[200, 150, 2] and hot[200, 450, 2] > hot[200, 450, 0]  # JET: red left, blue right
    assert cam.display_size(3000, 1500) == (1024, 512)  # a big picture is drawn at screen size
    assert cam.display_size(32, 32) == (256, 256) and cam.display_size(40, 100) == (80, 200)  # small: whole pixels


def test_live_predictions_take_any_size_at_the_checkpoints_side_as_results_do(tmp_path):
    from study.analysis.humans_vs_models import predict_set

    path = lenet_checkpoint(tmp_path / "lenet16.pt", input_side=16)
    loaded = live.load_model(path)
    rgb = picture(120, 90)
    result = live.predict_and_explain(loaded, rgb)
    assert loaded.input_side == 16 and result.view.pixels.shape == (16, 16, 3) and result.cam.shape == (16, 16)
    assert result.as_dict()["model_input"] == {"side": 16, "square": [0, 15, 90], "original_size": [90, 120],
                                               "steps": ["centre-cropped 90x120 to 90x90",
                                                         "resized 90x90 to 16x16 (LANCZOS)"]}
    assert png_size(live.overlay_png(rgb, result)) == (180, 240)  # the whole picture, enlarged 2x
    assert "centre square (90x90 of 90x120" in live.model_input_text(result.view)
    assert predict_set(str(path), [rgb])[0] == pytest.approx(result.p_ai, abs=1e-5)
    older = live.load_model(lenet_checkpoint(tmp_path / "lenet.pt", input_side=None))
    assert older.input_side == 32  # checkpoints from before: CIFAKE's side


# --- training on an image set --------------------------------------------------------

def test_an_image_set_is_training_data_at_a_chosen_side_with_a_fixed_split(engine, own_set):
    data = load_source("set:own", 16)
    assert data.images.shape == (24, 16, 16, 3) and data.source == "set:own"
    generator = dict(zip(own_set.ids, own_set.generators))
    kinds = np.array([generator[i] or "photo" for i in data.ids])
    for kind in ("photo", "gen_a", "gen_b"):  # every generator (and the photos) in both splits
        assert set(data.splits[kinds == kind]) == {"train", "test"}
    assert np.array_equal(data.images[0], model_view(stored_rgb(data.ids[0]), 16).pixels)
    again = load_source("set:own", 16)
    assert again.report["from_cache"] and np.array_equal(again.splits, data.splits)
    assert np.array_equal(again.images, data.images)
    assert load_source("set:own", 24).images.shape[1:3] == (24, 24)
    with pytest.raises(StudyError, match="--resolution is for image sets"):
        load_source("demo", 16)
    with pytest.raises(StudyError, match="between 8 and 1024"):
        load_source("set:own", 4)
    with pytest.raises(StudyError, match="there is no image set 'other'"):
        load_source("set:other")


def test_train_evaluate_predict_and_explain_on_an_image_set_at_its_resolution(capsys, engine, own_set, tmp_path):
    from models.checkpoint import read_checkpoint

    code, out, err = run_cli(capsys, "train", "--model", "lenet", "--data", "set:own", "--resolution", "16",
                             "--epochs", "1", "--json")
    assert code == 0, err
    trained = json.loads(out)
    checkpoint = trained["checkpoint"]
    assert read_checkpoint(checkpoint)["extra"]["input_side"] == 16
    n_test = int((load_source("set:own", 16).splits == "test").sum())
    assert trained["metrics"]["test"]["n"] == n_test
    code, out, err = run_cli(capsys, "evaluate", "--checkpoint", checkpoint, "--data", "set:own", "--json")
    assert code == 0, err
    assert json.loads(out)["metrics"]["accuracy"] == pytest.approx(trained["metrics"]["test"]["accuracy"])
    code, _, err = run_cli(capsys, "evaluate", "--checkpoint", checkpoint, "--data", "set:own", "--resolution", "32")
    assert code == 2 and "trained on 16x16 pictures" in err
    photo = tmp_path / "photo.jpg"
    Image.fromarray(picture(480, 640)).save(photo, quality=92)
    code, out, err = run_cli(capsys, "predict", "--checkpoint", checkpoint, str(photo), "--json")
    assert code == 0, err
    assert json.loads(out)["input_side"] == 16
    overlay = tmp_path / "cam.png"
    code, out, err = run_cli(capsys, "explain", "--checkpoint", checkpoint, str(photo), "--out", str(overlay), "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["model_input"]["side"] == 16 and record["model_input"]["square"] == [80, 0, 480]
    assert png_size(overlay.read_bytes()) == (640, 480)  # over the whole photo, at its own size
    code, _, err = run_cli(capsys, "train", "--model", "lenet", "--data", "demo", "--resolution", "16")
    assert code == 2 and "--resolution is for image sets" in err


# --- hints and results on an image set -------------------------------------------------

def test_hints_on_an_image_set_are_frozen_over_each_whole_picture_and_shown(engine, own_set, finished_run):
    import db.conditions as qc
    import db.survey as q
    from study.analysis.humans_vs_models import model_choice, predict_set

    _, run_id = finished_run
    info = survey.create_set(engine, own_set, size=8, seed=1, conditions=survey.parse_conditions("model_cam"),
                             hint_run_id=run_id)
    assert info.hint_run_id == run_id
    ids = [row.image_id for row in q.set_images(engine, info.id)]
    expected = predict_set(model_choice(engine, run_id).checkpoint_path, [stored_rgb(i) for i in ids])
    for image_id, p_ai in zip(ids, expected):
        hint = qc.hint_for(engine, info.id, image_id)
        height, width = stored_rgb(image_id).shape[:2]
        assert png_size(bytes(hint.cam_png)) == cam.display_size(width, height)
        assert float(hint.p_ai) == pytest.approx(p_ai, abs=1e-5)
    step = survey.current_step(engine, survey.Visit(), ())
    token = survey.consent(engine, survey.Visit(), token=step.pending_token, consent_hash=step.survey.consent_hash)
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    step = survey.current_step(engine, survey.Visit(token=token))
    first = q.participant_by_token(engine, token).image_order[0]
    assert step.hint.cam_png == bytes(qc.hint_for(engine, info.id, first).cam_png)


def test_results_compare_each_model_per_generator(capsys, engine, own_set, finished_run):
    import db.survey as q
    from study.analysis.humans_vs_models import model_choice, predict_set
    from study.survey.simulate import simulate

    _, run_id = finished_run
    info = survey.create_set(engine, own_set, size=8, seed=2, balance_by="generator")
    simulate(engine, 6, seed=4)
    code, out, err = run_cli(capsys, "results", "--json", "--include-simulated", "--run", str(run_id))
    assert code == 0, err
    data = json.loads(out)
    rows = q.set_images(engine, info.id)
    said_ai = predict_set(model_choice(engine, run_id).checkpoint_path, [stored_rgb(r.image_id) for r in rows]) >= 0.5
    right = {r.image_id: bool(said == (r.label == 1)) for r, said in zip(rows, said_ai)}
    generator = dict(zip(own_set.ids, own_set.generators))
    assert set(data["by_generator"]) == {"gen_a", "gen_b"}
    for name, figures in data["by_generator"].items():
        mine = [right[r.image_id] for r in rows if generator[r.image_id] == name]
        (model,) = figures["models"].values()
        assert model["n_images"] == len(mine) and model["accuracy"] == pytest.approx(np.mean(mine))


def test_the_training_form_offers_image_sets_and_refuses_a_resolution_for_cifake(engine, own_set):
    from study import jobs

    offered, _ = jobs.data_choices("train", engine)
    assert "set:own" in offered and "set:own" not in jobs.data_choices("experiment", engine)[0]
    with pytest.raises(StudyError, match="a resolution is for image sets"):
        jobs.submit({"model": "lenet", "data": "demo", "resolution": 64}, engine=engine, start_worker=False)
    assert jobs.list_jobs(engine) == []
    assert jobs.train_argv({"model": "lenet", "data": "set:own", "resolution": 64}, "cpu")[-4:] == \
        ["--data", "set:own", "--resolution", "64"]
