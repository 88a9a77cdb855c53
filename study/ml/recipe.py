"""A training's recipe: every knob of one training and its default, in one
visible place (as airbench keeps its hyperparameters). The training loop runs
it; the CLI's defaults, the Training page's form and the reproduction plan read
their defaults here. Importing this module loads no torch, so that
`python -m study --help` and the plan stay fast."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from study.errors import StudyError


@dataclass
class TrainConfig:
    """Defaults follow the paper: Adam, lr 2e-4, batch 100, 10 epochs, 80/20
    train/validation split, early stopping with patience 3."""

    model: str = "lenet"
    model_cfg: dict = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 100
    lr: float = 2e-4
    weight_decay: float = 0.0  # L2, the paper's regularisation sweep
    val_split: float = 0.2
    patience: int = 3  # epochs without a better validation loss before stopping
    seed: int = 0
    augment: bool = False  # the paper's rotations, shifts and flips
    filter: str | None = None  # applied to train, validation, test and predict images alike
    device: str = "auto"
    max_train: int | None = None  # a random subset of the train split, for quick runs
    amp: bool = True  # mixed precision, CUDA only
    num_threads: int | None = None  # CPU threads for torch; None = torch's choice

    def validate(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append("epochs must be at least 1")
        if self.batch_size < 1:
            problems.append("batch size must be at least 1")
        if not self.lr > 0:
            problems.append("learning rate must be positive")
        if self.weight_decay < 0:
            problems.append("weight decay must be >= 0")
        if not 0 <= self.val_split < 1:
            problems.append("validation split must be in [0, 1)")
        if self.patience < 0:
            problems.append("patience must be >= 0")
        if self.max_train is not None and self.max_train < 4:
            problems.append("max_train must be at least 4")
        if problems:
            raise StudyError("bad training configuration: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)
