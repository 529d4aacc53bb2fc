"""Old module paths that saved models still name.

A `model.joblib` pickles its classes by module path; models saved before the runtime moved into `pipeline.ml`
name `pipeline.runtime` and `pipeline.models`. Importing an old path gives the module that lives at the new
one (the same module object, so classes compare equal), without a file left at the old path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

MOVED = {"pipeline.runtime": "pipeline.ml.runtime", "pipeline.models": "pipeline.ml.models"}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self) -> None:
        self._own_specs: dict[str, importlib.machinery.ModuleSpec] = {}  # by old name: imports may overlap

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(name, self) if name in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        self._own_specs[spec.name] = module.__spec__  # the import system is about to overwrite it with the alias's
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was executed at its new path. It keeps its own spec."""
        module.__spec__ = self._own_specs.pop(module.__spec__.name)


def install() -> None:
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
