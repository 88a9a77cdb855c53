"""A reproduction's plan: which table, and every knob of its trainings in one
visible place; what the runner, the progress bar, the report and the pages
agree on (the grid, its labels, how many trainings a table takes)."""
from __future__ import annotations

from dataclasses import dataclass, field

from study import paper
from study.data.filters import PAPER_FILTERS
from study.errors import StudyError
from study.ml.recipe import TrainConfig

TABLES = ("1", "3", "4", "sweeps", "augment", "robustness")
RECIPE = TrainConfig()  # the paper's recipe: a reproduction trains with it unless told otherwise


@dataclass
class Plan:
    """Every knob of a reproduction in one visible place; the training's own
    defaults are the recipe's (TrainConfig), the grids and lists are the paper's."""

    table: str
    quick: bool = False
    model: str = RECIPE.model  # tables 3/4 and augment
    epochs: int = RECIPE.epochs
    batch_size: int = RECIPE.batch_size
    lr: float = RECIPE.lr
    patience: int = RECIPE.patience
    max_train: int | None = RECIPE.max_train
    seed: int = RECIPE.seed
    device: str = RECIPE.device
    threads: int | None = RECIPE.num_threads
    grid: dict = field(default_factory=lambda: {"n_conv": [1, 2, 3], "n_dense": [1, 2, 4], "dense_units": [128, 512]})
    l2: list = field(default_factory=lambda: [0.0, 0.0001, 0.001, 0.01, 0.1])
    dropout: list = field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.5])
    # robustness: the checkpoints scored; without any, these models are trained
    # first, each with its own recipe (TrainConfig.for_model), the fast detector
    # beside the paper's LeNet.
    checkpoints: list = field(default_factory=list)
    models: list = field(default_factory=lambda: ["cifake_resnet", "lenet"])
    max_test: int | None = None  # robustness: a seeded, class-balanced subset of the test split
    # What the caller (or --quick) set explicitly: a robustness training takes
    # only these from the plan and everything else from its model's recipe.
    overrides: dict = field(default_factory=dict)

    @classmethod
    def make(cls, table: str, quick: bool = False, **overrides) -> "Plan":
        if table not in TABLES:
            raise StudyError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
        plan = cls(table=table, quick=quick)
        if quick and table == "robustness":
            # Each model keeps its own recipe; only less data and fewer epochs.
            plan.epochs, plan.max_train, plan.max_test = 2, 800, 600
            plan.overrides.update(epochs=2, max_train=800)
        elif quick:
            # Enough steps for a small CNN to leave chance on the demo pool.
            plan.epochs, plan.max_train, plan.batch_size, plan.lr = 2, 800, 32, 1e-3
            plan.grid = {"n_conv": [1, 2], "n_dense": [1, 2], "dense_units": [64]}
            plan.l2, plan.dropout = [0.0, 0.1], [0.0, 0.2]
        for key, value in overrides.items():
            if value is not None:
                setattr(plan, key, value)
                plan.overrides[key] = value
        if quick and overrides.get("patience") is None:
            plan.patience = plan.epochs  # a smoke run trains every epoch it is given: no early stop
        return plan


def grid_configs(plan: Plan) -> list[dict]:
    return [{"n_conv": c, "n_dense": d, "dense_units": u}
            for c in plan.grid["n_conv"] for d in plan.grid["n_dense"] for u in plan.grid["dense_units"]]


def cnn_label(cfg: dict) -> str:
    """2c-4d-512u: conv layers, dense layers, units per dense layer."""
    return f"{cfg['n_conv']}c-{cfg['n_dense']}d-{cfg['dense_units']}u"


def trainings_planned(plan: Plan) -> int:
    """How many trainings a table runs (for the progress bar)."""
    return {"1": len(paper.TABLE1), "3": len(PAPER_FILTERS) + 1, "4": len(PAPER_FILTERS) + 1,
            "sweeps": len(grid_configs(plan)) + sum(1 for v in [*plan.l2, *plan.dropout] if v),
            "augment": 2, "robustness": 0 if plan.checkpoints else len(plan.models)}[plan.table]
