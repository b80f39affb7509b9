"""A registry of self-describing modules: the study's built-in ones (a package's modules, listed once)
and plugins registered at run time (genlab.plugins). genlab.experiments and genlab.measures each hold one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from types import ModuleType

from .errors import GenlabError


class Registry:
    def __init__(self, what: str, package: str, builtin: Sequence[str], interface: Sequence[str] = (),
                 vet: Callable[[ModuleType], None] | None = None):
        self.what, self.package, self.builtin = what, package, tuple(builtin)
        self.interface, self.vet = tuple(interface), vet
        self.plugins: dict[str, ModuleType] = {}

    def names(self) -> list[str]:
        """The built-in ones, then plugins in registration order."""
        return [*self.builtin, *self.plugins]

    def get(self, name: str) -> ModuleType:
        if name in self.plugins:
            return self.plugins[name]
        if name not in self.builtin:
            raise GenlabError(f"unknown {self.what} {name!r}, expected one of {', '.join(self.names())}")
        return import_module(f"{self.package}.{name}")

    def modules(self) -> list[ModuleType]:
        return [self.get(name) for name in self.names()]

    def register(self, module: ModuleType) -> ModuleType:
        """Add a plugin module; the same module again is a no-op, another of a taken name is refused."""
        where = getattr(module, "__file__", module)
        name = getattr(module, "NAME", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise GenlabError(f"{where}: a {self.what} module needs NAME, an identifier")
        if self.plugins.get(name) is module:
            return module
        if name in self.names():
            raise GenlabError(f"{where}: {self.what} {name!r} is registered already")
        missing = [attr for attr in self.interface if not hasattr(module, attr)]
        if missing:
            raise GenlabError(f"{where}: {self.what} {name!r} lacks {', '.join(missing)}")
        if self.vet is not None:
            self.vet(module)
        self.plugins[name] = module
        return module
