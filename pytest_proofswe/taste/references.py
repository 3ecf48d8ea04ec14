"""Where the repository uses a name: the texts the design rules search (pure).

The repository's files at the head of the change are :attr:`TasteInput.sources` with the
change's own files laid over them (:func:`head_texts`). A name is looked up as a word;
each occurrence is classified by what surrounds it (a definition, an import, a call, a
mention in a string, any other use), which is enough to count callers without importing
or type-checking anything. Imports are resolved from file paths (:func:`module_of`,
:func:`imported_from`): ``from pkg.mod import name``, relative imports, ``import pkg.mod as m``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from .model import TasteInput
from .repo import SOURCE_SUFFIXES, is_source

__all__ = ["Occurrence", "attribute_uses", "head_texts", "imported_from", "may_import", "module_of", "occurrences"]

Kind = Literal["definition", "import", "string", "call", "use"]


@dataclass(frozen=True)
class Occurrence:
    path: str
    line: int
    kind: Kind


def head_texts(data: TasteInput) -> dict[str, str]:
    """The repository's files after the change: its sources, with the change's files laid over them."""
    texts = dict(data.sources)
    for f in data.files:
        if f.old_path is not None:
            texts.pop(f.old_path, None)
        if f.head is None or f.binary:
            texts.pop(f.path, None)
        elif is_source(f.path):
            texts[f.path] = f.head
    return texts


_WORD = re.compile(r"\w+")
_DEF_BEFORE = re.compile(r"\b(?:def|class)\s+$")
_IMPORT_LINE = re.compile(r"^\s*(?:from\s+\S+\s+)?import\b")
_QUOTED = ("'", '"')


def _kind(text: str, start: int, end: int) -> Kind:
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    if _DEF_BEFORE.search(before):
        return "definition"
    if _IMPORT_LINE.match(before) or (before.strip() == "" and _in_import_block(text, line_start)):
        return "import"
    if start > 0 and text[start - 1] in _QUOTED and text[end : end + 1] in _QUOTED:
        return "string"
    rest = text[end : end + 40].lstrip(" \t")
    return "call" if rest.startswith("(") else "use"


def _in_import_block(text: str, line_start: int) -> bool:
    """Whether the line at ``line_start`` continues a parenthesised ``from x import (`` list."""
    opening = text.rfind("import (", max(0, line_start - 2000), line_start)
    return opening != -1 and ")" not in text[opening:line_start]


def occurrences(texts: Mapping[str, str], names: set[str], *, python_only: bool = False) -> dict[str, list[Occurrence]]:
    """Every occurrence of each of ``names`` as a word in ``texts``, classified."""
    out: dict[str, list[Occurrence]] = {name: [] for name in names}
    if not names:
        return out
    if all(_WORD.fullmatch(name) for name in names):
        # A name made of word characters occurs as a whole word: a word of the text equal to it.
        # One pass over the words is several times faster than an alternation of a hundred names.
        pattern, wanted = _WORD, names
    else:
        alternation = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
        pattern, wanted = re.compile(r"(?<![\w])(" + alternation + r")(?![\w])"), None
    for path, text in texts.items():
        if python_only and not path.endswith(SOURCE_SUFFIXES):
            continue
        if not any(name in text for name in names):
            continue
        line, counted = 1, 0  # the matches come in order: count the lines since the last one only
        for m in pattern.finditer(text):
            name = m.group(0)
            if wanted is not None and name not in wanted:
                continue
            line += text.count("\n", counted, m.start())
            counted = m.start()
            out[name].append(Occurrence(path, line, _kind(text, m.start(), m.end())))
    return out


def module_of(path: str) -> tuple[str, ...]:
    """The dotted parts a Python file is imported as from the repository's top
    (``src/pkg/mod.py`` -> ``("src", "pkg", "mod")``, a package's ``__init__.py`` -> the package)."""
    p = PurePosixPath(path)
    parts = [*p.parts[:-1]] if p.stem == "__init__" else [*p.parts[:-1], p.stem]
    return tuple(parts)


def _resolves_to(imported: tuple[str, ...], target: tuple[str, ...], package: bool = False) -> bool:
    """Whether an absolute import of ``imported`` can name the file imported as ``target``.

    A file is importable under any tail of its path (``src/`` layouts, subprojects). A
    one-part import names only a top-level module, a package, or a module under ``src/``
    or ``lib/`` (``from utils import x`` says nothing of ``app/utils.py``).
    """
    if not imported or len(imported) > len(target) or target[-len(imported) :] != imported:
        return False
    return len(imported) >= 2 or len(target) == 1 or package or target[:-1] in (("src",), ("lib",))


def _absolute(importer: str, module: str | None, level: int) -> tuple[str, ...] | None:
    """The dotted parts an ``ImportFrom`` names, relative imports resolved against ``importer``'s package."""
    parts = tuple(module.split(".")) if module else ()
    if level == 0:
        return parts
    package = module_of(importer) if importer.endswith("__init__.py") else module_of(importer)[:-1]
    if level - 1 > len(package):
        return None
    return (*package[: len(package) - (level - 1)], *parts)


def imported_from(tree: ast.Module, importer: str, target: str) -> tuple[dict[str, int], dict[str, int]]:
    """(names ``importer`` imports from the module at path ``target``, names it binds to that module itself),
    each with the line of its import.

    ``from pkg.mod import a, b as c`` gives ``a`` and ``b`` (the names as the target defines
    them); ``import pkg.mod as m`` and ``from pkg import mod`` bind ``m`` and ``mod``;
    ``import pkg.mod`` binds ``pkg.mod`` (used as ``pkg.mod.name``).
    """
    target_parts = module_of(target)
    package = target.endswith("__init__.py")
    names: dict[str, int] = {}
    aliases: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(importer, node.module, node.level)
            if source is None:
                continue
            exact = node.level > 0
            if (source == target_parts) if exact else _resolves_to(source, target_parts, package):
                for alias in node.names:
                    names.setdefault(alias.name, node.lineno)
            for alias in node.names:
                full = (*source, alias.name)
                if (full == target_parts) if exact else _resolves_to(full, target_parts, package):
                    aliases.setdefault(alias.asname or alias.name, node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _resolves_to(tuple(alias.name.split(".")), target_parts, package):
                    aliases.setdefault(alias.asname or alias.name, node.lineno)
    return names, aliases


def may_import(text: str, importer: str, target: str) -> bool:
    """Whether ``text`` (of the file at ``importer``) can import the module at ``target``: a cheap test before parsing.

    An import names the module's own name, or is relative from within its package.
    """
    parts = module_of(target)
    if parts and parts[-1] in text:
        return True
    folder = str(PurePosixPath(target).parent)
    return importer.startswith(f"{folder}/") and "from ." in text


def attribute_uses(tree: ast.Module, aliases: set[str], name: str) -> Iterator[ast.Attribute]:
    """``alias.name`` expressions of ``tree`` for each of ``aliases`` (dotted aliases included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == name and _dotted(node.value) in aliases:
            yield node


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""
