"""The models the linearizability search can check, by the name `--model` uses."""

from __future__ import annotations

from typing import Any

from checkers.model import Model
from checkers.models.cas_register import CasRegisterModel
from checkers.models.kv import KvModel
from checkers.models.multi_register import MultiRegisterModel
from checkers.models.mutex import MutexModel
from checkers.models.register import RegisterModel
from checkers.models.stock import StockModel

MODELS: dict[str, type[Model]] = {
    model.name: model
    for model in (StockModel, RegisterModel, CasRegisterModel, MutexModel, MultiRegisterModel, KvModel)
}


def get_model(name: str, init: Any = None) -> Model:
    """A model instance by name; `init` is the JSON value of `--init` (None: the model's default)."""
    model_class = MODELS.get(name)
    if model_class is None:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return model_class(init)
