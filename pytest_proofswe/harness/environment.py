"""Task virtual environments, built once and cached by content hash.

An environment is keyed by (interpreter, setup commands, env variables, base state,
whether pytest must be provided). It lives in ``<cache>/envs/<key>/``:

* ``venv/``: the virtual environment (made with uv when it is available, else venv);
* ``src/``: the copy of the base state the setup commands ran in. It is kept, because an
  editable install points at it; at test time each workspace goes first on
  ``PYTHONPATH`` at the matching folder (the *import roots*), so the tests import the
  submission's code, not this copy;
* ``info.json``: what the build learned: import roots, files the setup generated
  (``artefacts``: laid into every workspace, as SWE-bench's in-place testbed has them),
  the environment's top-level module names and pytest plugins, key package versions;
* ``complete``: written last. A build without it is redone.

The environment's site-packages are compiled to bytecode when it is built: the tests run
with ``PYTHONDONTWRITEBYTECODE=1`` and see the environment read-only, so they never write
any. ``info.json`` names the folder it was built in: a virtual environment cannot be
moved, so one found elsewhere (a copied or moved cache) is rebuilt, with a note.

Nothing of a submission is ever in an environment: it is built from the base state.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import process
from ..errors import EnvironmentBuildError
from ..task import EnvironmentSpec
from .locking import file_lock
from .workspace import Base, remove_tree

__all__ = ["Environment", "EnvironmentManager", "find_uv"]

_ENV_FORMAT = "1"
_SETUP_TIMEOUT_S = 3600.0

# Run inside the task's interpreter: what the guard and the proof need to know of it.
_PROBE = r"""
import json, os, sys, sysconfig
try:
    from importlib import metadata
except ImportError:
    metadata = None
names = set(getattr(sys, "stdlib_module_names", ()))
names.update(sys.builtin_module_names)
purelib = sysconfig.get_paths()["purelib"]
platlib = sysconfig.get_paths()["platlib"]
for d in {purelib, platlib}:
    try:
        entries = os.listdir(d)
    except OSError:
        continue
    for e in entries:
        if e.endswith((".dist-info", ".egg-info", ".pth", ".egg-link")) or e.startswith((".", "__")):
            continue
        base = e.split(".", 1)[0] if e.endswith((".py", ".so", ".pyd")) else e
        if base.isidentifier():
            names.add(base)
plugins, plugin_names, versions = [], None, {}
if metadata is not None:
    try:
        eps = metadata.entry_points()
        group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])
        plugins = sorted({ep.value for ep in group})
        plugin_names = sorted({ep.name for ep in group})
    except Exception:
        pass
    for dist in metadata.distributions():
        try:
            versions[dist.metadata["Name"]] = dist.version
        except Exception:
            pass
print(json.dumps({"version": sys.version.split()[0], "implementation": sys.implementation.name,
                  "purelib": purelib, "platlib": platlib, "names": sorted(names),
                  "pytest11": plugins, "pytest11_names": plugin_names, "versions": versions}))
"""


def _compile_argv(python: Path, probe_info: Mapping[str, Any]) -> list[str]:
    """``python -m compileall`` over the environment's site-packages (quiet, every core).

    pip is left out: seeded into every environment, the largest package there, and never
    imported by a test run.
    """
    folders = sorted({str(probe_info["purelib"]), str(probe_info["platlib"])})
    return [str(python), "-m", "compileall", "-q", "-j", "0", "-x", r"[/\\]site-packages[/\\]pip[/\\]", *folders]


def find_uv() -> str | None:
    """The uv executable: on PATH, or the one the ``uv`` package ships."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return str(find_uv_bin())
    except Exception:
        return None


@dataclass(frozen=True)
class Environment:
    """A built environment, ready to run a workspace's tests."""

    key: str
    root: Path
    python: Path
    python_version: str
    import_roots: tuple[str, ...]
    artefacts: tuple[str, ...]
    installed_names: frozenset[str]
    entry_point_plugins: tuple[str, ...]
    packages: Mapping[str, str]
    variables: tuple[tuple[str, str], ...]
    reused: bool
    build_commands: tuple[process.CommandRecord, ...] = field(default=())
    # The names of the environment's pytest11 entry points, read at build time (None: unknown).
    plugin_names: tuple[str, ...] | None = None
    note: str = ""  # why it was rebuilt, when the run should say so (a moved cache)

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    def test_environ(self, workspace: Path) -> dict[str, str]:
        """The variables a test command runs with: scrubbed of secrets, venv first."""
        env = process.scrubbed_environ()
        env.update(self.variables)
        env["VIRTUAL_ENV"] = str(self.python.parent.parent)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), env.get("PATH", os.defpath)])
        roots = [str(workspace / r) if r else str(workspace) for r in self.import_roots]
        env["PYTHONPATH"] = os.pathsep.join(roots)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.setdefault("PYTHONHASHSEED", "0")
        env["PYTHONNOUSERSITE"] = "1"
        return env

    def key_packages(self) -> dict[str, str]:
        wanted = {"pytest", "pluggy", "setuptools", "pip"}
        return {k: v for k, v in sorted(self.packages.items()) if k.lower() in wanted}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", "__pycache__")]
        for name in filenames:
            if name.endswith(".pyc"):
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            out[os.path.relpath(full, root).replace(os.sep, "/")] = (st.st_size, st.st_mtime_ns)
    return out


_MAPPING_RE = re.compile(r"^MAPPING\s*(?::[^=]*)?=\s*(\{.*?\})\s*$", re.MULTILINE | re.DOTALL)


def _import_roots(site_dirs: list[str], src: Path) -> list[str]:
    """Folders of ``src`` that an editable install put on the import path."""
    src_s = str(src.resolve())
    roots: list[str] = []

    def add(path: str) -> None:
        try:
            resolved = str(Path(path).resolve())
        except OSError:
            return
        if resolved == src_s or resolved.startswith(src_s + os.sep):
            rel = os.path.relpath(resolved, src_s).replace(os.sep, "/")
            rel = "" if rel == "." else rel
            if rel not in roots:
                roots.append(rel)

    for site in dict.fromkeys(site_dirs):
        try:
            entries = sorted(os.listdir(site))
        except OSError:
            continue
        for entry in entries:
            full = os.path.join(site, entry)
            if entry.endswith((".pth", ".egg-link")):
                try:
                    lines = Path(full).read_text(errors="replace").splitlines()
                except OSError:
                    continue
                for line in lines:
                    line = line.strip()
                    if line and not line.startswith(("#", "import ", "import\t")):
                        add(line)
            elif entry.startswith("__editable__") and entry.endswith(".py"):
                m = _MAPPING_RE.search(Path(full).read_text(errors="replace"))
                if m:
                    try:
                        mapping = ast.literal_eval(m.group(1))
                    except (ValueError, SyntaxError):
                        continue
                    for target in mapping.values():
                        add(str(Path(target).parent))
    if "" not in roots:
        roots.append("")  # the workspace root: python -m pytest puts it on the path anyway
    return roots


class EnvironmentManager:
    """Builds, caches and hands out task environments under ``cache_dir / "envs"``."""

    def __init__(self, cache_dir: Path, *, rebuild: bool = False, run_id: str = "") -> None:
        self.root = cache_dir / "envs"
        self.rebuild = rebuild
        self.run_id = run_id or os.environ.get("PROOFSWE_RUN_ID", "")
        self._memo: dict[str, Environment | EnvironmentBuildError] = {}
        self._interpreters: dict[str, tuple[str, str]] = {}
        self._moved: dict[str, str] = {}  # home -> why its environment is rebuilt

    def _interpreter(self, name: str | None) -> tuple[str, str]:
        """(path, identity) of the interpreter the environment is made from."""
        key = name or ""
        if key not in self._interpreters:
            if name is None:
                path = sys.executable
            else:
                path = shutil.which(name) or (name if Path(name).is_file() else "")
                if not path:
                    raise EnvironmentBuildError(
                        f"the interpreter {name!r} of [environment] python was not found on PATH "
                        "(fix: install it, or name one that exists, e.g. python3.11)"
                    )
            result = process.run(
                [path, "-c", "import sys; print(sys.version); print(sys.implementation.name)"],
                cwd=Path.cwd(),
                timeout=60,
            )
            if not result.ok:
                raise EnvironmentBuildError(f"the interpreter {path} does not run: {result.tail(5)}")
            self._interpreters[key] = (path, result.output.strip())
        return self._interpreters[key]

    def key_for(self, spec: EnvironmentSpec, base: Base, *, need_pytest: bool) -> str:
        path, identity = self._interpreter(spec.python)
        payload = json.dumps(
            {
                "format": _ENV_FORMAT,
                "interpreter": [os.path.realpath(path), identity],
                "setup": list(spec.setup),
                "env": [list(kv) for kv in spec.env],
                "base": base.sha256,
                "pytest": need_pytest,
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, spec: EnvironmentSpec, base: Base, *, need_pytest: bool = True) -> Environment:
        """The environment for ``spec`` on ``base``: from the cache, or built now."""
        key = self.key_for(spec, base, need_pytest=need_pytest)
        memo = self._memo.get(key)
        if isinstance(memo, EnvironmentBuildError):
            raise memo
        if memo is not None:
            return dataclasses.replace(memo, reused=True)
        home = self.root / key[:24]
        try:
            with file_lock(self.root / f"{key[:24]}.lock"):
                env = self._load(home, key, spec)
                if env is None:
                    env = self._build(home, key, spec, base, need_pytest)
                    if str(home) in self._moved:
                        env = dataclasses.replace(env, note=self._moved.pop(str(home)))
        except EnvironmentBuildError as exc:
            self._memo[key] = exc
            raise
        self._memo[key] = env
        return env

    def _load(self, home: Path, key: str, spec: EnvironmentSpec) -> Environment | None:
        marker = home / "complete"
        if not marker.exists():
            return None
        built_in = marker.read_text().strip()
        if self.rebuild and built_in != self.run_id:
            return None
        try:
            info = json.loads((home / "info.json").read_text())
        except (OSError, ValueError):
            return None
        if Path(info.get("home", str(home))).resolve() != home.resolve():
            # A virtual environment is not relocatable (its scripts, and the .pth files of
            # editable installs, name the folder it was built in): a moved cache is rebuilt.
            self._moved[str(home)] = (
                f"the cache was moved: the environment {home.name} was built in {info['home']} "
                "(a virtual environment names its folder in its scripts and .pth files), so it was rebuilt"
            )
            return None
        python = Path(info["python"])
        if not python.exists():
            return None
        if not info.get("compiled"):
            # Built by an older version, without bytecode: compile it now, once.
            process.run(
                _compile_argv(python, info["probe"]),
                cwd=home,
                env=self._setup_environ(home / "venv", spec),
                timeout=_SETUP_TIMEOUT_S,
            )
            info["compiled"] = True
            info.setdefault("home", str(home.resolve()))
            scratch = home / "info.json.new"
            scratch.write_text(json.dumps(info, indent=1, default=list))
            os.replace(scratch, home / "info.json")
        if "pytest11_names" not in info["probe"]:
            # Built by an older version, which did not record the plugins' names: probe again.
            probe = process.run(
                [str(python), "-c", _PROBE], cwd=home / "src", env=self._setup_environ(home / "venv", spec), timeout=120
            )
            if probe.ok:
                info["probe"] = json.loads(probe.output.strip().splitlines()[-1])
                scratch = home / "info.json.new"
                scratch.write_text(json.dumps(info, indent=1, default=list))
                os.replace(scratch, home / "info.json")
        return self._from_info(home, key, spec, info, reused=True)

    def _from_info(
        self,
        home: Path,
        key: str,
        spec: EnvironmentSpec,
        info: dict[str, Any],
        *,
        reused: bool,
        commands: tuple[process.CommandRecord, ...] = (),
    ) -> Environment:
        return Environment(
            key=key,
            root=home,
            # Found from where this cache is reached now (it may be through a symlink), not from
            # the path recorded when it was built.
            python=home / Path(info["python"]).relative_to(info.get("home", home))
            if Path(info["python"]).is_relative_to(info.get("home", home))
            else Path(info["python"]),
            python_version=info["probe"]["version"],
            import_roots=tuple(info["import_roots"]),
            artefacts=tuple(info["artefacts"]),
            installed_names=frozenset(info["probe"]["names"]),
            entry_point_plugins=tuple(info["probe"]["pytest11"]),
            plugin_names=None
            if info["probe"].get("pytest11_names") is None
            else tuple(info["probe"]["pytest11_names"]),
            packages=info["probe"]["versions"],
            variables=spec.env,
            reused=reused,
            build_commands=commands or tuple(process.CommandRecord(**c) for c in info.get("commands", [])),
        )

    def _setup_environ(self, venv: Path, spec: EnvironmentSpec) -> dict[str, str]:
        env = process.scrubbed_environ()
        env.update(spec.env)
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", os.defpath)])
        env["PYTHONNOUSERSITE"] = "1"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        return env

    def _build(self, home: Path, key: str, spec: EnvironmentSpec, base: Base, need_pytest: bool) -> Environment:
        interpreter, _identity = self._interpreter(spec.python)
        remove_tree(home)
        home.mkdir(parents=True)
        venv = home / "venv"
        src = home / "src"
        shutil.copytree(base.tree, src, symlinks=True)
        commands: list[process.CommandRecord] = []

        def step(argv: list[str], what: str, *, env: dict[str, str] | None = None) -> process.ProcessResult:
            result = process.run(argv, cwd=src, env=env, timeout=_SETUP_TIMEOUT_S)
            commands.append(result.record(cwd_label="<env>/src"))
            if not result.ok:
                state = "timed out" if result.timed_out else f"exit {result.returncode}"
                raise EnvironmentBuildError(
                    f"{what} failed ({state}): {' '.join(argv) if argv[:2] != ['/bin/sh', '-c'] else argv[2]}\n"
                    f"--- last lines of its output ---\n{result.tail(25)}",
                    command=" ".join(argv),
                    output_tail=result.tail(25),
                )
            return result

        uv = find_uv()
        base_env = process.scrubbed_environ()
        if uv:
            step(
                [uv, "venv", "--quiet", "--seed", "--python", interpreter, str(venv)],
                "creating the virtual environment",
                env=base_env,
            )
        else:
            step([interpreter, "-m", "venv", str(venv)], "creating the virtual environment", env=base_env)
        python = venv / "bin" / "python"
        before = _snapshot(src)
        setup_env = self._setup_environ(venv, spec)
        for command in spec.setup:
            step(["/bin/sh", "-c", command], "the setup command", env=setup_env)
        if need_pytest:
            check = process.run([str(python), "-c", "import pytest"], cwd=src, env=setup_env, timeout=120)
            if not check.ok:
                requirement = "pytest"
                import pytest as _pytest_for_version

                same_python = interpreter == sys.executable
                if same_python:
                    requirement = f"pytest=={_pytest_for_version.__version__}"
                if uv:
                    step(
                        [uv, "pip", "install", "--quiet", "--python", str(python), requirement],
                        "installing pytest into the environment",
                        env=setup_env,
                    )
                else:
                    step(
                        [str(python), "-m", "pip", "install", "--quiet", requirement],
                        "installing pytest into the environment",
                        env=setup_env,
                    )
        after = _snapshot(src)
        artefacts = sorted(p for p, sig in after.items() if before.get(p) != sig)
        probe = step([str(python), "-c", _PROBE], "probing the environment", env=setup_env)
        probe_info = json.loads(probe.output.strip().splitlines()[-1])
        roots = _import_roots([probe_info["purelib"], probe_info["platlib"]], src)
        # Compiled once here: the tests run with PYTHONDONTWRITEBYTECODE=1 and, in a sandbox,
        # see the environment read-only, so without this every run compiles pytest from source.
        step(_compile_argv(python, probe_info), "compiling the environment's bytecode", env=setup_env)
        info = {
            "python": str(home.resolve() / python.relative_to(home)),
            "home": str(home.resolve()),  # where it really is: a cache reached through a symlink is not moved
            "compiled": True,
            "probe": probe_info,
            "import_roots": roots,
            "artefacts": artefacts,
            "commands": [c.to_json() for c in commands],
        }
        (home / "info.json").write_text(json.dumps(info, indent=1, default=list))
        (home / "complete").write_text(self.run_id + "\n")
        return self._from_info(
            home, key, spec, json.loads((home / "info.json").read_text()), reused=False, commands=tuple(commands)
        )
