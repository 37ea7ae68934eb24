"""Container images: ``docker save`` tarballs and OCI image layouts, read without a container engine.

The layers are applied in order as the runtime would (later files replace earlier ones, ``.wh.NAME``
deletes NAME, ``.wh..wh..opq`` empties a folder), but only the files an inventory format reads (package
databases, lockfiles, SBOMs, Python ``METADATA``) and ``os-release`` are kept, and only in memory up to
the lockfile size limit — an image is never unpacked to disk whole, so a hostile tarball cannot fill the
disk or write outside a folder (member names are normalised as the runtime does — ``../`` at the top clamps to the
image root — before the kept files are written below a fresh temporary folder).

Each kept file remembers the layer that last wrote it; for a package database that several layers
rewrote (``apt-get install`` in one layer, another in the next), each package gets the first layer of
the unbroken run of layers that had it, which is the layer that installed it.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cnsec.errors import InputError
from cnsec.model.source import Source

#: most layers a manifest may list, and most members read in all: bounds on time for hostile input
MAX_LAYERS = 512
MAX_MEMBERS = 2_000_000
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")


@dataclass(slots=True)
class Kept:
    """One kept file: its text in every layer that wrote it (oldest first), by layer digest."""

    versions: list[tuple[str, bytes]] = field(default_factory=list)
    #: ``data`` is what a self-contained reader made of the file as its layer streamed by (the packages
    #: of a Go binary or a jar), not the file itself
    reduced: bool = False

    @property
    def layer(self) -> str:
        return self.versions[-1][0]

    @property
    def data(self) -> bytes:
        return self.versions[-1][1]


def is_image(path: Path) -> bool:
    """A ``docker save`` tarball (a tar with ``manifest.json``) or an OCI layout folder."""
    if path.is_dir():
        return (path / "oci-layout").is_file() and (path / "index.json").is_file()
    if not path.is_file() or not tarfile.is_tarfile(path):
        return False
    try:
        with tarfile.open(path) as tf:
            return any(_norm(m.name) in ("manifest.json", "oci-layout") for m in _members(tf, limit=64))
    except (tarfile.TarError, OSError, EOFError):
        return False


def _members(tf: tarfile.TarFile, limit: int) -> Iterator[tarfile.TarInfo]:
    for i, member in enumerate(tf):
        if i >= limit:
            return
        yield member


def _norm(name: str) -> str | None:
    """A member name as a relative POSIX path below the image root; ``../`` at the top is clamped to
    the root, as container runtimes do when they unpack a layer (``None`` for the root itself)."""
    path = posixpath.normpath("/" + name).lstrip("/")
    return path or None


class _Source:
    """The blobs of an image, from a tarball or a folder, by their name in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tar = None if path.is_dir() else tarfile.open(path)  # noqa: SIM115 - closed by close()
        self._names = {_norm(m.name) or "": m for m in self.tar.getmembers()} if self.tar else {}

    def open(self, name: str) -> IO[bytes]:
        name = _norm(name) or ""
        if self.tar is None:
            target = (self.path / name).resolve()
            if not target.is_relative_to(self.path.resolve()) or not target.is_file():
                raise InputError(f"the image refers to {name!r}, which it does not hold", Source(str(self.path)))
            return target.open("rb")
        member = self._names.get(name)
        stream = self.tar.extractfile(member) if member is not None else None
        if stream is None:
            raise InputError(f"the image refers to {name!r}, which it does not hold", Source(str(self.path)))
        return stream

    def json(self, name: str) -> object:
        with self.open(name) as fh:
            try:
                return json.loads(fh.read(16 << 20))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InputError(f"{name}: not valid JSON ({exc})", Source(str(self.path))) from None

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()


def _layer_label(name: str) -> str:
    """``sha256:<hex>`` for ``blobs/sha256/<hex>`` (docker 25+), the layer folder's id for the older
    ``<id>/layer.tar``."""
    parts = (_norm(name) or name).split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        return f"{parts[1]}:{parts[2]}"
    return parts[0] if len(parts) > 1 else name


def _blob(digest: str) -> str:
    algo, _, hexdigest = digest.partition(":")
    return f"blobs/{algo}/{hexdigest}"


def _first(items: list[object], what: str, problems: list[str]) -> object:
    """The first of ``items``; the others are said to be left out (never silent)."""
    if len(items) > 1:
        problems.append(f"{len(items)} {what} in this image; only the first is read")
    return items[0]


def _digest(desc: object, src: _Source) -> str:
    digest = desc.get("digest") if isinstance(desc, dict) else None
    if not isinstance(digest, str) or ":" not in digest:
        raise InputError("a manifest entry has no digest", Source(str(src.path)))
    return digest


def _layers(src: _Source, problems: list[str]) -> list[tuple[str, str]]:
    """(layer digest or name, blob name) of the image's first manifest, bottom layer first; more images
    (a ``docker save`` of several, a multi-platform index) are said in ``problems``."""
    if src.tar is not None and "manifest.json" in src._names:
        manifest = src.json("manifest.json")
        if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
            raise InputError("manifest.json: expected a list of images", Source(str(src.path)))
        first = _first(manifest, "images (docker save of several)", problems)
        layers = first.get("Layers") if isinstance(first, dict) else None
        return [(_layer_label(str(name)), str(name)) for name in layers or []]
    index = src.json("index.json")
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list) or not manifests:
        raise InputError("index.json lists no manifest", Source(str(src.path)))
    doc = src.json(_blob(_digest(_first(manifests, "manifests in index.json", problems), src)))
    if isinstance(doc, dict) and isinstance(doc.get("manifests"), list) and doc["manifests"]:
        # an image index (multi-platform): its first image
        doc = src.json(_blob(_digest(_first(doc["manifests"], "platform images", problems), src)))
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise InputError("the OCI manifest lists no layers", Source(str(src.path)))
    return [(d, _blob(d)) for d in (_digest(layer, src) for layer in doc["layers"])]


Reduce = Callable[[str, tarfile.TarInfo, IO[bytes]], bytes | None]


def read_image(path: Path, wanted: Callable[[str], bool], max_bytes: int,
               problems: list[str], reduce: Reduce | None = None) -> dict[str, Kept]:
    """The files under their in-image path (``var/lib/dpkg/status``) for which ``wanted(path)`` is true,
    after applying every layer. ``problems`` gets what was left out and why (a layer that is not a
    tar, a file over ``max_bytes``). ``reduce(path, member, stream)`` is offered every regular file
    first: what it returns (not ``None``) is kept instead of the file, which is never held whole."""
    src = _Source(path)
    files: dict[str, Kept] = {}
    seen = 0
    try:
        layers = _layers(src, problems)
        if len(layers) > MAX_LAYERS:
            raise InputError(f"{len(layers)} layers (more than {MAX_LAYERS}); refused", Source(str(path)))
        for digest, blob in layers:
            try:
                with src.open(blob) as raw, tarfile.open(fileobj=raw, mode="r|*") as layer:
                    for member in layer:
                        seen += 1
                        if seen > MAX_MEMBERS:
                            raise InputError(f"more than {MAX_MEMBERS} files in the layers; refused",
                                             Source(str(path)))
                        _apply(layer, member, digest, files, wanted, max_bytes, problems, reduce)
            except (tarfile.TarError, EOFError, OSError) as exc:
                problems.append(f"layer {digest}: not a readable tar layer ({exc}); its files are not read")
    finally:
        src.close()
    return files


def _apply(layer: tarfile.TarFile, member: tarfile.TarInfo, digest: str, files: dict[str, Kept],
           wanted: Callable[[str], bool], max_bytes: int, problems: list[str], reduce: Reduce | None) -> None:
    name = _norm(member.name)
    if name is None:
        return
    folder, base = posixpath.split(name)
    if base == ".wh..wh..opq":  # opaque folder: what lower layers put in it is gone
        prefix = folder + "/"
        for kept in [k for k in files if k.startswith(prefix)]:
            del files[kept]
        return
    if base.startswith(".wh."):
        gone = posixpath.join(folder, base[4:])
        files.pop(gone, None)
        for kept in [k for k in files if k.startswith(gone + "/")]:
            del files[kept]
        return
    if reduce is not None and member.isreg():
        stream = layer.extractfile(member)
        reduced = reduce(name, member, stream) if stream is not None else None
        if reduced is not None:
            files[name] = Kept([(digest, reduced)], reduced=True)
            return
    if not member.isreg() or not wanted(name):
        if member.isdir() is False and name in files:
            del files[name]  # replaced by a link or a special file: the old text is not what is there now
        return
    if member.size > max_bytes:
        problems.append(f"{name} (layer {digest}): larger than {max_bytes >> 20} MiB; not read")
        return
    stream = layer.extractfile(member)
    if stream is None:
        return
    files.setdefault(name, Kept()).versions.append((digest, stream.read()))


def package_layers(kept: Kept, keys: Callable[[bytes], set[tuple[str, str]]]) -> dict[tuple[str, str], str]:
    """For a database rewritten by several layers: each (name, version) of the final text -> the first
    layer of the unbroken run of layers that had it (the layer that installed it)."""
    since: dict[tuple[str, str], str] = {}
    for digest, data in kept.versions:
        present = keys(data)
        since = {k: since.get(k, digest) for k in present}
    return since
