"""Read a folder, file or stdin into one inventory of Kubernetes, Dockerfile and Terraform inputs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cnsec.assess.loaders.dockerfile import Dockerfile, is_dockerfile_name, parse_dockerfile
from cnsec.assess.loaders.k8s import K8sResource, parse_k8s
from cnsec.assess.loaders.terraform import TfResource, parse_terraform
from cnsec.assess.workload import Workload, as_workload
from cnsec.model.finding import InputProblem

if TYPE_CHECKING:
    from cnsec.k8s.render.helm import HelmOptions

MAX_FILE_BYTES = 20 * 1024 * 1024
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".terraform", ".venv", "venv", "__pycache__",
             ".tox", ".mypy_cache", ".pytest_cache"}
SKIP_FILES = {".cnsec.yaml", ".cnsec.yml"}
YAML_SUFFIXES = (".yaml", ".yml", ".json")
TF_SUFFIXES = (".tf",)


@dataclass
class Inventory:
    root: str
    k8s: list[K8sResource] = field(default_factory=list)
    dockerfiles: list[Dockerfile] = field(default_factory=list)
    terraform: list[TfResource] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # each file's text, as read
    #: inputs left out on purpose (templates that do not load): reported in every format, not errors
    skipped: list[InputProblem] = field(default_factory=list)
    files_read: int = 0
    templates_skipped: int = 0  # files with documents skipped as templates
    rendered: int = 0  # Helm charts and Kustomize overlays rendered (render helper, #14)
    _lines: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _mentions: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def workloads_by_resource(self) -> list[Workload | None]:
        """Each resource's workload (``None`` for kinds without a pod spec), in resource order."""
        return [as_workload(res) for res in self.k8s]

    @cached_property
    def workloads(self) -> list[Workload]:
        return [w for w in self.workloads_by_resource if w is not None]

    def of_kind(self, *kinds: str) -> list[K8sResource]:
        return [r for r in self.k8s if r.kind in kinds]

    def lines(self, file: str) -> list[str]:
        """The file's lines, split on first use (most files' lines are never looked at)."""
        lines = self._lines.get(file)
        if lines is None:
            text = self.texts.get(file)
            if text is None:
                return []
            lines = self._lines[file] = text.splitlines()
        return lines

    def drop_caches(self) -> None:
        """Forget what is rebuilt on demand (workloads, split lines): a part travels without them."""
        self.__dict__.pop("workloads", None)
        self.__dict__.pop("workloads_by_resource", None)
        self._lines = {}
        self._mentions = {}

    def mentions(self, file: str, needle: str) -> bool:
        """Does the file's text contain ``needle`` (without splitting it into lines)?

        Remembered per file: it is asked once per resource, and a file of 20,000 documents searched
        20,000 times made one large file cost quadratic time (4 MB of YAML: 33 s).
        """
        key = (file, needle)
        found = self._mentions.get(key)
        if found is None:
            found = self._mentions[key] = needle in self.texts.get(file, "")
        return found


def _kind_of(name: str) -> str | None:
    if is_dockerfile_name(name):
        return "dockerfile"
    low = name.lower()
    if low.endswith(YAML_SUFFIXES):
        return "k8s"
    if low.endswith(TF_SUFFIXES):
        return "terraform"
    return None


def iter_files(root: Path, problems: list[InputProblem] | None = None) -> Iterator[tuple[str, str]]:
    """(path, kind) of every input file under ``root``, in a stable order: each folder's files by
    name, then its sub-folders by name, depth first (``os.walk`` order). Symbolic links and special
    files (a FIFO would hang the read) are left out; folders in :data:`SKIP_DIRS` are not entered.
    A folder that cannot be listed is added to ``problems`` (``os.walk`` would skip it in silence).

    Built on ``os.scandir``: the file types come with the directory listing, so a corpus of thousands
    of files costs no stat call per file.
    """
    if root.is_file():
        kind = _kind_of(root.name) or ("k8s" if root.suffix == "" else None)
        if kind:
            yield str(root), kind
        return
    stack = [str(root)]  # str(Path) normalises the root once ('./x/' -> 'x'); names need no normalising
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as listing:
                entries = list(listing)
        except OSError as exc:
            if problems is not None:
                problems.append(InputProblem(top, None, f"cannot read folder: {exc.strerror or exc}; skipped"))
            continue
        here = top != "."  # Path('.', 'x') is 'x', not './x'
        dirs: list[os.DirEntry[str]] = []
        files: list[os.DirEntry[str]] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(entry)
        files.sort(key=lambda e: e.name)
        for entry in files:
            name = entry.name
            if name in SKIP_FILES:
                continue
            kind = _kind_of(name)
            if kind and not entry.is_symlink() and entry.is_file():
                yield (entry.path if here else name), kind
        subdirs = sorted((d for d in dirs if d.name not in SKIP_DIRS and not d.is_symlink()),
                         key=lambda e: e.name, reverse=True)
        stack.extend(d.path if here else d.name for d in subdirs)


def add_text(inv: Inventory, text: str, file: str, kind: str) -> None:
    inv.files_read += 1
    inv.texts[file] = text
    if kind == "k8s":
        parsed = parse_k8s(text, file)
        inv.k8s.extend(parsed.resources)
        inv.problems.extend(parsed.problems)
        inv.skipped.extend(parsed.skipped)
        inv.templates_skipped += bool(parsed.skipped)
    elif kind == "dockerfile":
        df, problems = parse_dockerfile(text, file)
        inv.dockerfiles.append(df)
        inv.problems.extend(problems)
    elif kind == "terraform":
        tf = parse_terraform(text, file)
        inv.terraform.extend(tf.resources)
        inv.problems.extend(tf.problems)
        inv.skipped.extend(tf.skipped)


def read_file(inv: Inventory, path: str, kind: str, display: str) -> None:
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                inv.problems.append(InputProblem(display, None,
                                                 f"file is larger than {MAX_FILE_BYTES // 2**20} MiB; skipped"))
                return
            data = handle.read()
    except OSError as exc:
        inv.problems.append(InputProblem(display, None, f"cannot read: {exc.strerror}"))
        return
    if b"\x00" in data[:8192]:
        inv.problems.append(InputProblem(display, None, "binary file, not text; skipped"))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        inv.problems.append(InputProblem(display, None, f"not UTF-8 text (byte {exc.start})"))
        return
    add_text(inv, text, display, kind)


PARALLEL_MIN_TF_FILES = 8
PARALLEL_MIN_FILES = 300

T = TypeVar("T")
#: Work to do on each freshly parsed part, in the process that parsed it (set before forking).
_BESIDE: Callable[[Inventory], Any] | None = None


def _load_chunk(chunk: list[tuple[str, str]]) -> Inventory:
    part = Inventory(root="")
    for display, kind in chunk:
        read_file(part, display, kind, display)
    return part


def _load_and_work(chunk: list[tuple[str, str]]) -> tuple[Inventory, Any]:
    """Parse a chunk and run the ``beside`` work on it; both travel back in one pickle, so what the
    work's result refers to (resources of the part) arrives as the very same objects."""
    part = _load_chunk(chunk)
    result = _BESIDE(part) if _BESIDE is not None else None
    part.drop_caches()
    return part, result


def _merge(inv: Inventory, part: Inventory) -> None:
    inv.k8s.extend(part.k8s)
    inv.dockerfiles.extend(part.dockerfiles)
    inv.terraform.extend(part.terraform)
    inv.problems.extend(part.problems)
    inv.skipped.extend(part.skipped)
    inv.texts.update(part.texts)
    inv.files_read += part.files_read
    inv.templates_skipped += part.templates_skipped
    inv.rendered += part.rendered


#: Relative cost per byte of parsing and checking, by kind (measured on the assess corpus: Kubernetes
#: YAML 0.21 us/byte, Terraform 0.66, Dockerfiles 0.47).
COST_PER_BYTE = {"k8s": 1.0, "terraform": 3.0, "dockerfile": 2.0}


#: This process's share of the parse work relative to each worker's: a worker also pickles its part
#: (about a seventh of the work) before this process can take it, so this one gets a little more.
OWN_SHARE = 1.15


def _balance(files: list[tuple[str, str]], parts: int) -> list[list[tuple[str, str]]]:
    """Split files into ``parts`` groups of about equal cost (by size and :data:`COST_PER_BYTE`);
    the first group, parsed by this process, is :data:`OWN_SHARE` times larger."""
    sized = []
    for f in files:
        try:
            size = os.stat(f[0]).st_size
        except OSError:
            size = 0
        sized.append((size * COST_PER_BYTE.get(f[1], 1.0), f))
    sized.sort(key=lambda x: -x[0])
    groups: list[list[tuple[str, str]]] = [[] for _ in range(parts)]
    load = [0.0] * parts
    weight = [OWN_SHARE] + [1.0] * (parts - 1)
    for cost, f in sized:
        i = min(range(parts), key=lambda k: (load[k] + cost) / weight[k])
        groups[i].append(f)
        load[i] += cost
    return groups


def _load_files(inv: Inventory, files: list[tuple[str, str]], workers: int | None,
                beside: Callable[[Inventory], T] | None) -> list[T]:
    """Parse files in this process and in forked workers, about equal work each.

    Parsed documents come back pickled, which costs about a quarter of parsing them, so the split
    pays off from a few hundred files on; results are merged back in file order, so the inventory
    does not depend on the number of processes. ``beside`` runs on each part where it was parsed
    (the assessment runs its per-resource checks there), its results are returned.
    """
    global _BESIDE
    n = workers if workers is not None else (os.cpu_count() or 1)
    tf = sum(1 for f in files if f[1] == "terraform")
    _BESIDE = beside
    try:
        if n <= 1 or (len(files) < PARALLEL_MIN_FILES and tf < PARALLEL_MIN_TF_FILES):
            part, result = _load_and_work(files)
            _merge(inv, part)
            return [result] if beside is not None else []
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        groups = _balance(files, n)
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ProcessPoolExecutor(max_workers=n - 1, mp_context=ctx) as pool:
            futures = [pool.submit(_load_and_work, g) for g in groups[1:]]
            done = [_load_and_work(groups[0])] + [f.result() for f in futures]
    finally:
        _BESIDE = None
    order = {name: i for i, (name, _) in enumerate(files)}
    merged = Inventory(root="")
    for part, _ in done:
        _merge(merged, part)
    merged.k8s.sort(key=lambda r: (order.get(r.file, 0), r.line))
    merged.dockerfiles.sort(key=lambda d: order.get(d.file, 0))
    merged.terraform.sort(key=lambda r: (order.get(r.file, 0), r.line))
    merged.problems.sort(key=lambda p: (order.get(p.file, 0), p.line or 0))
    merged.skipped.sort(key=lambda p: (order.get(p.file, 0), p.line or 0))
    merged.texts = {name: merged.texts[name] for name, _ in files if name in merged.texts}
    _merge(inv, merged)
    return [result for _, result in done] if beside is not None else []


def _read_stdin(inv: Inventory) -> str | None:
    """Stdin as bytes, decoded like a file (text mode would smuggle bad bytes in as surrogates), and
    capped like a file: at most :data:`MAX_FILE_BYTES` are read (200 MB piped in grew past 4 GB)."""
    buffer = getattr(sys.stdin, "buffer", None)
    data: str | bytes = sys.stdin.read(MAX_FILE_BYTES + 1) if buffer is None else buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        inv.problems.append(InputProblem("<stdin>", None, f"input is larger than {MAX_FILE_BYTES // 2**20} MiB; "
                                                          f"skipped"))
        return None
    if isinstance(data, str):  # already text (a test, or an embedding program)
        return data
    if b"\x00" in data[:8192]:
        inv.problems.append(InputProblem("<stdin>", None, "binary data, not text; skipped"))
        return None
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        inv.problems.append(InputProblem("<stdin>", None, f"not UTF-8 text (byte {exc.start})"))
        return None


def _withhold_secrets(problem: InputProblem) -> InputProblem:
    """A renderer's message can quote a template line or a value (``fail`` with a password in it):
    one that looks like it holds a secret is not repeated in the report or on stderr."""
    from cnsec.data.scan import scan_text

    if not scan_text(problem.message):
        return problem
    return type(problem)(problem.file, problem.line, "could not be rendered; the renderer's message is withheld: "
                                                     "it contains what looks like a secret")


def _render_folder(inv: Inventory, target: str, render: HelmOptions, found: list[tuple[str, str]],
                   beside: Callable[[Inventory], T] | None, results: list[T]) -> list[tuple[str, str]]:
    """Render the charts and overlays under ``target`` into parts of the inventory; return the files
    of ``found`` that none of them read."""
    from cnsec.k8s.render.walk import render_tree

    tree = render_tree(target, render, SKIP_DIRS)
    inv.problems.extend(map(_withhold_secrets, tree.problems))
    inv.skipped.extend(tree.skipped)
    inv.files_read += tree.failed  # their Chart.yaml or kustomization.yaml was read: the report is written
    for rendered in tree.rendered:
        part = Inventory(root="")
        part.k8s.extend(rendered.resources)
        part.texts.update(rendered.texts)
        part.problems.extend(rendered.problems)
        part.files_read = max(len(rendered.texts), 1)
        part.rendered = 1
        if beside is not None:
            results.append(beside(part))
        part.drop_caches()
        _merge(inv, part)
    if not (tree.charts or tree.consumed):
        return found
    return [f for f in found if not tree.excludes(f[0])]


def load_inventory(targets: list[str], *, workers: int | None = None) -> Inventory:
    """Load every target (a folder, a file, or ``-`` for stdin). Problems are collected, not raised."""
    return scan_inventory(targets, None, workers=workers)[0]


def scan_inventory(targets: list[str], beside: Callable[[Inventory], T] | None, *,
                   workers: int | None = None, render: HelmOptions | None = None) -> tuple[Inventory, list[T]]:
    """:func:`load_inventory`, running ``beside`` on every part of the inventory in the process that
    parsed it (while the part is fresh in that process's memory); returns its results too.

    ``render``: Helm charts and Kustomize overlays in folders are rendered (the options are for a
    chart given as a target), and the files they read are not read again as plain files; ``None``
    reads every file as it is."""
    inv = Inventory(root=targets[0] if len(targets) == 1 else ", ".join(targets))
    files: list[tuple[str, str]] = []
    results: list[T] = []
    for target in targets:
        if target == "-":
            text = _read_stdin(inv)
            if text is not None:
                kind = "dockerfile" if text.lstrip().upper().startswith(("FROM ", "ARG ")) else "k8s"
                part = Inventory(root="")
                add_text(part, text, "<stdin>", kind)
                if beside is not None:
                    results.append(beside(part))
                part.drop_caches()
                _merge(inv, part)
            continue
        root = Path(target)
        if render is not None and root.is_file():
            from cnsec.k8s.render.walk import RENDER_FILES

            if root.name in RENDER_FILES:  # it stands for the chart or overlay it makes
                target = str(root.parent)
                root = root.parent
        if not root.exists():
            inv.problems.append(InputProblem(target, None, "no such file or directory"))
            continue
        found = list(iter_files(root, inv.problems))
        if render is not None and root.is_dir():
            found = _render_folder(inv, target, render, found, beside, results)
        if not found and root.is_file():
            inv.problems.append(InputProblem(target, None, "not a Kubernetes (.yaml, .yml, .json), Terraform "
                                                           "(.tf) or Dockerfile input by its name; skipped"))
        files.extend(found)
    results += _load_files(inv, files, workers, beside)
    return inv, results
