"""The shape of the house, held by its imports (docs/architecture.md).

Every module under ``src/cnsec`` is read with :mod:`ast` (nothing is imported or run), and every import in
it is checked: top-level ones, those inside functions, and those under ``if TYPE_CHECKING:`` (a type is a
dependency too). A string constant that is exactly the dotted name of a cnsec module counts as an import
by name (``importlib.import_module(NAME)``, ``PILLAR_CLIS``).

The floors:

* **pillars** — ``assess``, ``iam``, ``data``, ``detect``, ``respond``, ``vulns`` (and ``serve``, ``bus``
  when they come): the engines. A pillar may import anything of its own, the ground floor, and the
  *public face* of another pillar: the package ``cnsec.<pillar>`` itself (its ``__init__``, which names
  what it offers in ``__all__``), never ``cnsec.<pillar>.<module>``.
* **ground floor** — every other package and module (``model``, ``k8s``, ``report``, ``store``,
  ``errors``, ``fsutil``, ``yamlsafe``, ``config_file``, ``lazy``, ...): imports no pillar and not the roof.
* **roof** — ``cnsec.cli`` and ``cnsec.__main__``: the ``cnsec`` command. It may import the ground floor
  and the pillars' command-line modules (a module named ``cli``, ``register(subparsers)``), nothing else of
  a pillar: a command's work is the pillar's.

A pillar's own command-line modules (``cnsec/<pillar>/**/cli.py``) are part of their pillar and follow its
rule; they alone may also import the roof (``cnsec.cli.skip_teardown``: how the process ends is the
command's business, not an engine's).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PILLARS = frozenset({"assess", "iam", "data", "detect", "respond", "vulns", "serve", "bus"})
ROOF = frozenset({"cnsec.cli", "cnsec.__main__"})


@dataclass(frozen=True, slots=True)
class Import:
    """``module`` imports ``target`` at ``line`` (``how``: the statement, shortened)."""

    module: str
    target: str
    line: int
    how: str

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}: {self.how}"


def module_names(src: Path) -> dict[str, Path]:
    """Every module's dotted name (a package by its own name) -> its file."""
    out: dict[str, Path] = {}
    for path in sorted((src / "cnsec").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    """The cnsec modules ``module`` imports. ``from cnsec.x import y`` is an import of ``cnsec.x.y``
    when that is a module, else of ``cnsec.x`` (a name from it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _package_of(module, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "cnsec":
                    yield Import(module, alias.name, node.lineno, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "cnsec":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in known else base
                yield Import(module, target, node.lineno, f"from {node.module or '.' * node.level} import {alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known \
                and node.value.startswith("cnsec.") and node.value != module:
            yield Import(module, node.value, node.lineno, f"{node.value!r} (imported by name)")


def pillar_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in PILLARS else None


def violation(imp: Import) -> str | None:
    """Why this import breaks the shape, or ``None``."""
    here, there = pillar_of(imp.module), pillar_of(imp.target)
    if imp.module in ROOF:
        if there is not None and imp.target.rpartition(".")[2] != "cli" and imp.target != f"cnsec.{there}":
            return "the roof may import only a pillar's cli module or public face"
        return None
    if imp.target in ROOF:
        if here is not None and imp.module.rpartition(".")[2] == "cli":
            return None
        return "only a pillar's cli module may import the roof (cnsec.cli)"
    if here is None:
        if there is not None:
            return "the ground floor imports no pillar"
        return None
    if there is None or there == here:
        return None
    if imp.target != f"cnsec.{there}":
        return f"a pillar imports another pillar only through its public face (cnsec.{there})"
    return None


def violations(src: Path) -> list[str]:
    known = module_names(src)
    out = []
    for module, path in known.items():
        for imp in sorted(imports_of(module, path, known), key=lambda i: (i.line, i.target, i.how)):
            why = violation(imp)
            if why is not None:
                out.append(f"{imp} — {why}")
    return out


def test_no_pillar_reaches_into_another_and_the_ground_floor_imports_no_pillar() -> None:
    found = violations(SRC)
    assert not found, f"{len(found)} import(s) break the layering:\n" + "\n".join(found)


def test_every_pillar_public_face_declares_what_it_offers() -> None:
    """Another pillar imports ``cnsec.<pillar>``: what it may use there is listed in ``__all__``."""
    known = module_names(SRC)
    missing = []
    for pillar in sorted(PILLARS):
        path = known.get(f"cnsec.{pillar}")
        if path is None:
            continue
        used = {imp.how.rpartition(" import ")[2] for module, p in known.items() if pillar_of(module) != pillar
                for imp in imports_of(module, p, known)
                if imp.target == f"cnsec.{pillar}" and imp.how.startswith("from ")}
        tree = ast.parse(path.read_text(encoding="utf-8"))
        declared: set[str] = set()
        for node in tree.body:
            names = [t.id for t in getattr(node, "targets", ()) if isinstance(t, ast.Name)]
            if isinstance(node, ast.Assign) and "__all__" in names:
                declared = set(ast.literal_eval(node.value))
        missing += [f"cnsec.{pillar}.{name}" for name in sorted(used - declared)]
    assert not missing, "imported from a public face but not in its __all__: " + ", ".join(missing)


# ------------------------------------------------------------------------------ the checker itself
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {p.parent for p in tmp_path.rglob("*.py")}:
        (folder / "__init__.py").touch()
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({"cnsec/iam/x.py": "def f():\n    from cnsec.assess.inventory import load_inventory\n"},
     "cnsec.iam.x (line 2) imports cnsec.assess.inventory: from cnsec.assess.inventory import load_inventory"),
    ({"cnsec/iam/x.py": "from typing import TYPE_CHECKING\n"
                        "if TYPE_CHECKING:\n    from cnsec.assess.checks.base import Hit\n"},
     "cnsec.iam.x (line 3) imports cnsec.assess.checks.base"),
    ({"cnsec/store/m.py": "def f():\n    from cnsec.iam import schema\n", "cnsec/iam/schema.py": ""},
     "cnsec.store.m (line 2) imports cnsec.iam.schema: from cnsec.iam import schema — the ground floor"),
    ({"cnsec/k8s/m.py": "import cnsec.iam\n"}, "cnsec.k8s.m (line 1) imports cnsec.iam: import cnsec.iam"),
    ({"cnsec/respond/a.py": "MOD = 'cnsec.iam.directory'\n", "cnsec/iam/directory.py": ""},
     "cnsec.respond.a (line 1) imports cnsec.iam.directory: 'cnsec.iam.directory' (imported by name)"),
    ({"cnsec/assess/engine.py": "from cnsec.cli import skip_teardown\n", "cnsec/cli.py": ""},
     "cnsec.assess.engine (line 1) imports cnsec.cli"),
    ({"cnsec/cli.py": "from cnsec.assess.engine import run\n", "cnsec/assess/engine.py": ""},
     "cnsec.cli (line 1) imports cnsec.assess.engine"),
])
def test_the_checker_names_the_offending_module_and_import(tmp_path: Path, files: dict[str, str],
                                                           expected: str) -> None:
    found = violations(_tree(tmp_path, files))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_checker_lets_public_faces_own_modules_and_cli_registration_through(tmp_path: Path) -> None:
    src = _tree(tmp_path, {
        "cnsec/iam/x.py": "from cnsec.assess import load_inventory\nfrom cnsec.iam.store import S\n"
                          "from cnsec.k8s.rbac import RbacModel\nfrom . import store\n",
        "cnsec/iam/store.py": "",
        "cnsec/k8s/rbac.py": "from cnsec.model import Source\n",
        "cnsec/model/__init__.py": "",
        "cnsec/assess/__init__.py": "",
        "cnsec/assess/cli.py": "from cnsec.cli import skip_teardown\n",
        "cnsec/cli.py": "PILLAR_CLIS = ('cnsec.assess.cli',)\n",
    })
    assert violations(src) == []
