"""Read a folder, file or stdin into one inventory of Kubernetes, Dockerfile and Terraform inputs."""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cnsec.assess.loaders.dockerfile import Dockerfile, is_dockerfile_name, parse_dockerfile
from cnsec.assess.loaders.terraform import TfResource, parse_terraform
from cnsec.fsutil import id_base
from cnsec.k8s import from_terraform
from cnsec.k8s.manifests import parse_k8s
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import Workload, as_workload
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
    #: the inputs as given (file-derived ids are made relative to :func:`cnsec.fsutil.id_base` of them)
    targets: list[str] = field(default_factory=list)
    k8s: list[K8sResource] = field(default_factory=list)
    dockerfiles: list[Dockerfile] = field(default_factory=list)
    terraform: list[TfResource] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # each file's text, as read
    #: inputs left out on purpose (templates that do not load): reported in every format, not errors
    skipped: list[InputProblem] = field(default_factory=list)
    files_read: int = 0
    excluded: int = 0  # input files left out by --exclude / the configuration's exclude globs
    templates_skipped: int = 0  # files with documents skipped as templates
    #: ``helm_release`` blocks of the Terraform read, to render (reported as skipped until they are)
    helm_releases: list[from_terraform.HelmRelease] = field(default_factory=list)
    rendered: int = 0  # Helm charts and Kustomize overlays rendered (render helper, #14)
    _lines: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _mentions: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False, compare=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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

    def stable_path(self, file: str) -> str:
        """``file`` relative to :func:`cnsec.fsutil.id_base` of the inputs: the same id from any
        directory and any way of naming the inputs, so baselines and suppressions by asset keep
        matching (``<stdin>`` and paths outside the base as they are)."""
        if "id_base" not in self._memo:
            self._memo["id_base"] = id_base(self.targets)
        base = self._memo["id_base"]
        if base is None or file.startswith("<"):
            return file
        rel = os.path.relpath(os.path.abspath(file), base)
        return file if rel.startswith("..") else rel.replace(os.sep, "/")

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


def is_excluded(relative: str, patterns: Sequence[str]) -> bool:
    """Whether ``relative`` (a path below an input folder, ``/``-separated) is excluded by one of the
    glob ``patterns``: a pattern without ``/`` matches any one folder or file name on the way
    (``tests``, ``*.tf``), as in .gitignore; one with ``/`` matches the path from the input folder,
    or a folder above the file (``charts/*/templates``, ``examples/shop``)."""
    if not patterns:
        return False
    parts = relative.split("/")
    for raw in patterns:
        pattern = raw.strip().removeprefix("./").rstrip("/")
        if not pattern:
            continue
        if "/" not in pattern:
            if any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                return True
        elif any(fnmatch.fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
            return True
    return False


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
        inv.terraform.extend(_kubernetes_from_terraform(inv, tf.resources, text, file))
        inv.problems.extend(tf.problems)
        inv.skipped.extend(tf.skipped)


def _kubernetes_from_terraform(inv: Inventory, resources: list[TfResource], text: str,
                               file: str) -> list[TfResource]:
    """``kubernetes_*`` resources become the Kubernetes objects they declare (checked like manifests,
    named by their Terraform address), ``helm_release`` blocks render requests; the other resources
    are returned. Unsupported types and unrendered releases are reported as skipped."""
    if not any(from_terraform.handles(r.type) for r in resources):
        return resources
    texts = {file: text.splitlines()}

    def lines_of(path: str) -> list[str]:
        if path not in texts:  # a local module's file
            try:
                with open(path, encoding="utf-8-sig") as handle:
                    texts[path] = handle.read(MAX_FILE_BYTES).splitlines()
            except (OSError, UnicodeDecodeError):
                texts[path] = []
        return texts[path]

    made = from_terraform.convert(resources, lines_of)
    for c in made.objects:
        inv.k8s.append(K8sResource(kind=c.kind, api_version=c.api_version, name=c.name or "(unnamed)",
                                   namespace=c.namespace, doc=c.doc, file=c.file, line=c.line,
                                   end_line=c.end_line, extra={"terraform": c.address, "unknowns": c.unknowns}))
    inv.skipped.extend(InputProblem(f, line, why) for f, line, why in made.skipped)
    for h in made.helm:
        inv.helm_releases.append(h)
        if not h.local:  # a local chart is rendered after the walk (or said why not): _render_releases
            inv.skipped.append(InputProblem(h.file, h.line, f"{h.address}: {h.skip_reason}"))
    return made.rest


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


#: Files read so far by this process and its forked workers (a shared counter), and the progress
#: line that shows it, while a run on a terminal shows one; ``None`` otherwise (no cost at all).
_DONE: Any = None
_VIEW: Any = None


def _load_chunk(chunk: list[tuple[str, str]], targets: list[str]) -> Inventory:
    part = Inventory(root="", targets=targets)
    for display, kind in chunk:
        read_file(part, display, kind, display)
        if _DONE is not None:
            _count_file()
    return part


def _count_file() -> None:
    with _DONE.get_lock():
        _DONE.value += 1
        done = _DONE.value
    if _VIEW is not None and _VIEW.pid == os.getpid():  # forked workers count, the parent draws
        _VIEW.progress.set(done)


def _load_and_work(chunk: list[tuple[str, str]], targets: list[str]) -> tuple[Inventory, Any]:
    """Parse a chunk and run the ``beside`` work on it; both travel back in one pickle, so what the
    work's result refers to (resources of the part) arrives as the very same objects."""
    part = _load_chunk(chunk, targets)
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
    inv.helm_releases.extend(part.helm_releases)
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
    global _BESIDE, _DONE, _VIEW
    import multiprocessing as mp
    from types import SimpleNamespace

    from cnsec.report.console import Progress

    n = workers if workers is not None else (os.cpu_count() or 1)
    tf = sum(1 for f in files if f[1] == "terraform")
    _BESIDE = beside
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    progress = Progress("files", total=len(files))
    if progress.enabled:  # shown on a terminal only: otherwise no counter, no lock
        _DONE = ctx.Value("q", 0)
        _VIEW = SimpleNamespace(progress=progress, pid=os.getpid())
    try:
        if n <= 1 or (len(files) < PARALLEL_MIN_FILES and tf < PARALLEL_MIN_TF_FILES):
            part, result = _load_and_work(files, inv.targets)
            _merge(inv, part)
            return [result] if beside is not None else []
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures import wait as wait_for

        groups = _balance(files, n)
        with ProcessPoolExecutor(max_workers=n - 1, mp_context=ctx) as pool:
            futures = [pool.submit(_load_and_work, g, inv.targets) for g in groups[1:]]
            mine = _load_and_work(groups[0], inv.targets)
            while _DONE is not None and wait_for(futures, timeout=0.1).not_done:  # the workers' files
                progress.set(_DONE.value)
            done = [mine] + [f.result() for f in futures]
    finally:
        _BESIDE = _DONE = _VIEW = None
        progress.close()
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
    from cnsec.data import scan_text

    if not scan_text(problem.message):
        return problem
    return type(problem)(problem.file, problem.line, "could not be rendered; the renderer's message is withheld: "
                                                     "it contains what looks like a secret")


def _render_folder(inv: Inventory, target: str, render: HelmOptions, found: list[tuple[str, str]],
                   beside: Callable[[Inventory], T] | None, results: list[T]) -> list[tuple[str, str]]:
    """Render the charts and overlays under ``target`` into parts of the inventory; return the files
    of ``found`` that none of them read."""
    from cnsec.k8s.render.walk import render_tree

    released: set[str] = set()
    for path, kind in found:
        if kind == "terraform":
            try:
                with open(path, encoding="utf-8-sig", errors="replace") as handle:
                    text = handle.read(MAX_FILE_BYTES)
            except OSError:
                continue  # the plain reading reports it
            if "helm_release" in text:
                released |= from_terraform.released_charts(text, path)
    tree = render_tree(target, render, SKIP_DIRS, released)
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


def _helm_values(h: from_terraform.HelmRelease, folder: str) -> list[str]:
    """The ``--values`` files of a ``helm_release`` in Helm's order: its ``file()`` values as they are,
    literal YAML and the ``set`` blocks written below ``folder`` (a private temporary folder: a
    ``set_sensitive`` value never reaches a command line, a log or the report)."""
    import yaml

    files: list[str] = []
    for i, (where, body) in enumerate(h.values):
        if body is None:
            files.append(where)
            continue
        path = os.path.join(folder, f"values-{i}.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(body)
        files.append(path)
    if h.sets:
        tree: dict[str, Any] = {}
        for s in h.sets:  # a.b.c = v, with Helm's escaped dots; list indexes are not expanded
            keys = [k.replace("\0", ".") for k in s.name.replace("\\.", "\0").split(".")]
            node = tree
            for k in keys[:-1]:
                child = node.get(k)
                node = node.setdefault(k, {}) if not isinstance(child, dict) else child
            value = s.value
            if s.type != "string" and isinstance(value, str):
                value = yaml.safe_load(value) if value.strip() else value  # as helm --set reads it
            node[keys[-1]] = value
        path = os.path.join(folder, "set.yaml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(tree, handle)
        files.append(path)
    return files


def _render_releases(inv: Inventory, render: HelmOptions | None, beside: Callable[[Inventory], T] | None,
                     results: list[T]) -> None:
    """Render the local charts of the ``helm_release`` blocks read, with each release's name,
    namespace, values and sets, into parts of the inventory (findings point to the chart's templates).
    A release whose values Terraform computes at plan time is not rendered with guessed values: it is
    reported skipped, as is every release with ``--no-render``; a render that fails is an input error."""
    import tempfile

    from cnsec.k8s.render.helm import HelmOptions as Options
    from cnsec.k8s.render.helm import render_chart
    from cnsec.k8s.render.tools import RenderError
    from cnsec.k8s.render.walk import RenderProblem

    for h in inv.helm_releases:
        if not h.local or h.chart_path is None:
            continue
        unknown = list(h.unknown_values) + [s.name for s in h.sets if not s.known]
        if render is None or unknown:
            why = ("not rendered: rendering is off here (--no-render)" if render is None else
                   f"values Terraform computes at plan time ({', '.join(unknown)[:200]}): not rendered with "
                   "guessed values")
            inv.skipped.append(InputProblem(h.file, h.line, f"{h.address}: helm_release of chart "
                                                            f"{h.chart_path}: {why}"))
            continue
        with tempfile.TemporaryDirectory(prefix="cnsec-helm-release-") as folder:
            try:
                rendered = render_chart(h.chart_path, Options(values=tuple(_helm_values(h, folder)),
                                                              release=h.name, namespace=h.namespace))
            except RenderError as exc:
                inv.problems.append(_withhold_secrets(RenderProblem(h.file, h.line,
                                                                    f"{h.address}: {exc}")))
                continue
        part = Inventory(root="", targets=inv.targets)
        part.k8s.extend(rendered.resources)
        part.texts.update(rendered.texts)
        part.problems.extend(rendered.problems)
        part.skipped.extend(rendered.skipped)
        part.rendered = 1
        if beside is not None:
            results.append(beside(part))
        part.drop_caches()
        _merge(inv, part)


def load_inventory(targets: list[str], *, workers: int | None = None) -> Inventory:
    """Load every target (a folder, a file, or ``-`` for stdin). Problems are collected, not raised."""
    return scan_inventory(targets, None, workers=workers)[0]


def scan_inventory(targets: list[str], beside: Callable[[Inventory], T] | None, *,
                   workers: int | None = None, exclude: Sequence[str] = (),
                   render: HelmOptions | None = None) -> tuple[Inventory, list[T]]:
    """:func:`load_inventory`, running ``beside`` on every part of the inventory in the process that
    parsed it (while the part is fresh in that process's memory); returns its results too.

    ``exclude``: globs of files and folders under the input folders to leave out (:func:`is_excluded`);
    how many were left out is counted, so the report says so. ``render``: Helm charts and Kustomize
    overlays in folders are rendered (the options are for a chart given as a target), and the files
    they read are not read again as plain files; ``None`` reads every file as it is."""
    inv = Inventory(root=targets[0] if len(targets) == 1 else ", ".join(targets), targets=list(targets))
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
        if exclude and root.is_dir():
            kept = [f for f in found if not is_excluded(os.path.relpath(f[0], root).replace(os.sep, "/"), exclude)]
            inv.excluded += len(found) - len(kept)
            found = kept
        if render is not None and root.is_dir():
            found = _render_folder(inv, target, render, found, beside, results)
        if not found and root.is_file():
            inv.problems.append(InputProblem(target, None, "not a Kubernetes (.yaml, .yml, .json), Terraform "
                                                           "(.tf) or Dockerfile input by its name; skipped"))
        files.extend(found)
    results += _load_files(inv, files, workers, beside)
    if inv.helm_releases:
        _render_releases(inv, render, beside, results)
    return inv, results
