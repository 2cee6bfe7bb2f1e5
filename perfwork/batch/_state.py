"""Kernel side of the warm batch: what a notebook run can change in its kernel, snapshotted once after the warm-up
imports and put back before every area, so each area starts as a fresh kernel would.

This module is imported *inside* the kernel (by ``_kernel.WarmKernel``); it must not import pandas, Altair or
perfwork at module level. What is restored, and why:

- the user namespace (``get_ipython().user_ns``), IPython's history and output cache, and the execution count (so a
  warm run numbers its cells 1, 2, ... like a fresh one);
- every module's and every (mutable) class's ``__dict__``, by identity: a monkeypatched function, a replaced module
  global or a class attribute (Altair's name counters included) goes back to the object it held at the snapshot.
  Keys added since are deleted, except submodule attributes (their import is kept, like any cache);
- state held inside objects that libraries mutate in place: pandas options, Altair's plugin registries (renderers,
  data transformers, themes), NumPy print and error options, ``warnings`` filters and once-registries, ``sys.path``,
  ``sys.argv``, ``os.environ``, the working directory, the locale, the root logger, matplotlib's rcParams, IPython's
  display formatters, events, AST transformers, magics and configurable traits; ``random`` and NumPy's global
  generator are reseeded from the OS, as a fresh kernel would be.

What a process cannot undo is not attempted: threads a notebook starts, files it writes, and objects a library
mutates in place inside its own containers. The last is what keeps package caches (functools caches, dicts filled
in place: perfwork's national assessment) across areas, which is the point of a warm kernel.
"""

from __future__ import annotations

import copy
import gc
import importlib
import operator
import os
import random
import sys
import types
import warnings

_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: such classes cannot be patched
_SKIP_MODULES = {__name__, "__main__"}
# set again by ipykernel for every request: restored, not worth reporting
_QUIET = {"sys.excepthook", "builtins.input", "getpass.getpass", "IPython line magics", "IPython cell magics"}
_snapshot: "_Snapshot | None" = None


def _ipython():
    from IPython import get_ipython

    return get_ipython()


def warm(modules: list[str], packages: list[str] = (), skip: list[str] = ()) -> list[str]:
    """Import what the notebooks will import (``packages``: with every submodule but those under ``skip``), then
    take the snapshot.
    Returns the modules that could not be imported (the notebook's own cell will then fail with the real error)."""
    global _snapshot
    user_ns = dict(_ipython().user_ns)  # before anything below touches it
    failed = []
    for name in list(modules) + list(packages):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - reported back, the notebook shows the real error
            failed.append(name)
    for name in packages:
        failed += _import_submodules(name, tuple(skip))
    _snapshot = _Snapshot(user_ns)
    _collect()
    return failed


def _collect() -> None:
    """Free the last area's cycles, then move every survivor (imports, the package caches) out of the collector's
    sight: later collections then cost what one area allocates, not the whole warm heap."""
    gc.collect()
    gc.freeze()


def _import_submodules(package: str, skip: tuple) -> list[str]:
    import pkgutil

    pkg = sys.modules.get(package)
    if pkg is None or not hasattr(pkg, "__path__"):
        return []
    failed = []
    for info in pkgutil.walk_packages(pkg.__path__, package + ".", onerror=failed.append):
        if info.name.rsplit(".", 1)[-1].startswith("__") or info.name.startswith(skip):  # never a __main__
            continue
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001
            failed.append(info.name)
    return failed


def restore() -> list[str]:
    """Put the kernel back to the snapshot; returns what had changed (for tests and diagnostics)."""
    if _snapshot is None:
        raise RuntimeError("perfwork batch: restore() before warm()")
    return _snapshot.restore()


def _changed(state) -> bool:
    d, keys, values = state
    return (len(d) != len(keys) or not all(map(operator.is_, d, keys))
            or not all(map(operator.is_, d.values(), values)))


class _Snapshot:
    def __init__(self, user_ns: dict):
        shell = _ipython()
        self.user_ns = user_ns
        self.hidden = dict(shell.user_ns_hidden)
        self.modules = dict(sys.modules)
        self.dicts: dict[int, tuple] = {}
        self.names: dict[int, str] = {}
        for name, module in list(sys.modules.items()):
            self._add_module(name, module)
        self.cwd = os.getcwd()
        self.environ = dict(os.environ)
        self.sys_lists = {name: list(getattr(sys, name)) for name in ("path", "argv", "meta_path", "path_hooks")}
        self.warning_filters = list(warnings.filters)
        self.locale = _locale()
        self.extras = [cls() for cls in _EXTRAS]
        for extra in self.extras:
            extra.take(shell)

    def _add_module(self, name, module):
        if name in _SKIP_MODULES or not isinstance(module, types.ModuleType):
            return
        d = getattr(module, "__dict__", None)
        if not isinstance(d, dict) or id(d) in self.dicts:
            return
        self._add(d, name)
        for value in list(d.values()):
            if (isinstance(value, type) and getattr(value, "__module__", None) == name
                    and not value.__flags__ & _IMMUTABLE_TYPE and id(value) not in self.dicts):
                self._add(value, f"{name}.{value.__qualname__}")

    def _add(self, owner, name):
        """``owner``: a module's dict or a class (keyed by identity; the state holds a reference, so ids stay)."""
        d = owner.__dict__ if isinstance(owner, type) else owner
        self.dicts[id(owner)] = (owner, tuple(d), tuple(d.values()))
        self.names[id(owner)] = name

    def restore(self) -> list[str]:
        changed: list[str] = []
        if os.getcwd() != self.cwd:
            changed.append(f"working directory {os.getcwd()}")
            os.chdir(self.cwd)
        changed += self._restore_user_ns()
        changed += self._restore_dicts()
        changed += self._restore_process()
        for extra in self.extras:
            changed += extra.restore()
        for name in [n for n in self.modules if n not in sys.modules]:  # a module deleted from sys.modules
            changed.append(f"sys.modules[{name!r}]")
            sys.modules[name] = self.modules[name]
        for name in [n for n in sys.modules if n not in self.modules]:  # imported in an area: kept, guarded now
            self.modules[name] = sys.modules[name]
            self._add_module(name, sys.modules[name])
        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        _collect()
        return [c for c in changed if c not in _QUIET]

    def _restore_user_ns(self) -> list[str]:
        """What ``InteractiveShell.reset`` does, without its full garbage collection (``restore`` collects only
        what is new): the user namespace as the fresh kernel had it, a new history session, counts from 1."""
        shell = _ipython()
        ns = shell.user_ns
        added = sorted(k for k in ns if k not in self.user_ns and not k.startswith("_"))
        shell.history_manager.reset(new_session=True)  # In/Out/_ih/_oh/_dh are cleared in place
        hook = shell.displayhook
        hook._, hook.__, hook.___ = "", "", ""
        for k in [k for k in ns if k not in self.user_ns or ns[k] is not self.user_ns[k]]:
            if k not in ("__builtin__", "__builtins__"):  # deleting these breaks objects' __del__
                del ns[k]
        ns.update(self.user_ns)
        shell.user_ns_hidden.clear()
        shell.user_ns_hidden.update(self.hidden)
        shell.alias_manager.clear_aliases()
        shell.alias_manager.init_aliases()
        shell.clear_main_mod_cache()
        shell.execution_count = 1
        shell.last_execution_succeeded, shell.last_execution_result = True, None
        for name in ("last_type", "last_value", "last_traceback", "last_exc"):
            sys.__dict__.pop(name, None)
        return [f"global {k}" for k in added]

    def _restore_dicts(self) -> list[str]:
        changed = []
        for key, state in list(self.dicts.items()):
            if _changed_any(state):
                changed += _put_back(state, self.names[key])
                self._add(state[0], self.names[key])  # re-key: entries kept (submodules) are part of it now
        return changed

    def _restore_process(self) -> list[str]:
        changed = []
        if dict(os.environ) != self.environ:
            changed.append("os.environ")
            for k in set(os.environ) - set(self.environ):
                del os.environ[k]
            os.environ.update(self.environ)
        for name, saved in self.sys_lists.items():
            current = getattr(sys, name)
            if current != saved:
                changed.append(f"sys.{name}")
                current[:] = saved
        if warnings.filters != self.warning_filters:
            changed.append("warnings.filters")
            warnings.filters[:] = self.warning_filters
        # "once" and "default" warnings show again, as in a fresh kernel
        warnings.onceregistry.clear()
        for module in list(sys.modules.values()):
            registry = getattr(module, "__warningregistry__", None)
            if isinstance(registry, dict):
                registry.clear()
        warnings._filters_mutated()
        if _locale() != self.locale:
            import locale

            changed.append("locale")
            locale.setlocale(locale.LC_ALL, self.locale)
        return changed


def _mapping(state):
    first = state[0]
    return first.__dict__ if isinstance(first, type) else first


def _changed_any(state) -> bool:
    return _changed((_mapping(state), state[1], state[2]))


def _put_back(state, name: str) -> list[str]:
    """Restore one module or class dict to its snapshot; submodules imported since stay."""
    owner, keys, values = state
    d = _mapping(state)
    saved = dict(zip(keys, values))
    changed = []
    for k in [k for k in d if k not in saved]:
        if isinstance(d[k], types.ModuleType) or k == "__warningregistry__":
            continue
        changed.append(f"{name}.{k} (added)")
        _delete(owner, d, k)
    for k, v in saved.items():
        if k not in d or d[k] is not v:
            changed.append(f"{name}.{k}")
            _assign(owner, d, k, v)
    return changed


def _assign(owner, d, k, v):
    if isinstance(owner, type):
        type.__setattr__(owner, k, v)
    else:
        d[k] = v


def _delete(owner, d, k):
    if isinstance(owner, type):
        type.__delattr__(owner, k)
    else:
        del d[k]


def _locale():
    import locale

    return locale.setlocale(locale.LC_ALL)


class _PandasOptions:
    def take(self, shell):
        self.values = None
        if "pandas" in sys.modules:
            import pandas as pd
            from pandas._config import config

            self.values = {k: pd.get_option(k) for k in config._registered_options}

    def restore(self):
        if self.values is None:
            return []
        import pandas as pd

        changed = []
        for k, v in self.values.items():
            try:
                current = pd.get_option(k)
                same = current is v or bool(current == v)
            except Exception:  # noqa: BLE001 - an option whose value cannot be compared is simply set back
                same = False
            if not same:
                changed.append(f"pandas option {k}")
                pd.set_option(k, v)
        return changed


class _AltairRegistries:
    """Altair's renderers, data transformers and themes are PluginRegistry objects mutated in place."""

    def take(self, shell):
        self.saved = []
        if "altair" not in sys.modules:
            return
        from altair.utils.plugin_registry import PluginRegistry

        seen = set()
        for module in [m for n, m in list(sys.modules.items()) if n.startswith("altair")]:
            for value in list(getattr(module, "__dict__", {}).values()):
                if isinstance(value, PluginRegistry) and id(value) not in seen:
                    seen.add(id(value))
                    self.saved.append((value, copy.copy(vars(value)),
                                       {k: copy.copy(v) for k, v in vars(value).items() if isinstance(v, dict)}))

    def restore(self):
        changed = []
        for registry, attrs, dicts in self.saved:
            state = vars(registry)
            if any(state.get(k) is not v for k, v in attrs.items()) or any(state[k] != v for k, v in dicts.items()):
                changed.append(f"altair registry {type(registry).__name__} ({registry.active!r})")
                state.clear()
                state.update(attrs)
                for k, v in dicts.items():
                    state[k] = copy.copy(v)
        return changed


class _NumpyOptions:
    def take(self, shell):
        self.print = self.err = None
        if "numpy" in sys.modules:
            import numpy as np

            self.print, self.err = np.get_printoptions(), np.geterr()

    def restore(self):
        if self.print is None:
            return []
        import numpy as np

        changed = []
        if np.get_printoptions() != self.print:
            changed.append("numpy print options")
            np.set_printoptions(**self.print)
        if np.geterr() != self.err:
            changed.append("numpy error handling")
            np.seterr(**self.err)
        return changed


class _Matplotlib:
    def take(self, shell):
        self.rc = dict(sys.modules["matplotlib"].rcParams) if "matplotlib" in sys.modules else None

    def restore(self):
        if self.rc is None or dict(sys.modules["matplotlib"].rcParams) == self.rc:
            return []
        sys.modules["matplotlib"].rcParams.update(self.rc)
        return ["matplotlib rcParams"]


class _Logging:
    def take(self, shell):
        import logging

        self.handlers, self.level = list(logging.root.handlers), logging.root.level

    def restore(self):
        import logging

        if logging.root.handlers == self.handlers and logging.root.level == self.level:
            return []
        logging.root.handlers[:] = self.handlers
        logging.root.setLevel(self.level)
        return ["root logger"]


class _Shell:
    """IPython's own configurable state: display formatters, event callbacks, transformers, magics, traits."""

    def take(self, shell):
        self.traits = {obj: {n: getattr(obj, n) for n in obj.trait_names(config=True)}
                       for obj in self._configurables(shell)}
        formatters = shell.display_formatter.formatters.values()
        self.printers = [(f, dict(f.type_printers), dict(f.deferred_printers)) for f in formatters]
        self.events = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
        self.lists = {name: list(getattr(shell, name)) for name in ("ast_transformers", "input_transformers_post")}
        self.magics = {kind: dict(table) for kind, table in shell.magics_manager.magics.items()}

    @staticmethod
    def _configurables(shell):
        return [shell, shell.display_formatter, *shell.display_formatter.formatters.values(), shell.displayhook]

    def restore(self):
        changed = []
        for obj, values in self.traits.items():
            for name, value in values.items():
                if getattr(obj, name) is not value and getattr(obj, name) != value:
                    changed.append(f"IPython {type(obj).__name__}.{name}")
                    setattr(obj, name, value)
        for f, types_, deferred in self.printers:
            if f.type_printers != types_ or f.deferred_printers != deferred:
                changed.append(f"IPython formatter {f.format_type}")
                f.type_printers.clear()
                f.type_printers.update(types_)
                f.deferred_printers.clear()
                f.deferred_printers.update(deferred)
        shell = _ipython()
        for name, cbs in self.events.items():
            if shell.events.callbacks[name] != cbs:
                changed.append(f"IPython event {name}")
                shell.events.callbacks[name][:] = cbs
        for name, saved in self.lists.items():
            if getattr(shell, name) != saved:
                changed.append(f"IPython {name}")
                getattr(shell, name)[:] = saved
        for kind, table in self.magics.items():
            if shell.magics_manager.magics[kind] != table:
                changed.append(f"IPython {kind} magics")
                shell.magics_manager.magics[kind].clear()
                shell.magics_manager.magics[kind].update(table)
        return changed


_EXTRAS = [_PandasOptions, _AltairRegistries, _NumpyOptions, _Matplotlib, _Logging, _Shell]
