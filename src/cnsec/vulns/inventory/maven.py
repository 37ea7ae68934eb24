"""pom.xml: the versions a Maven project declares for its dependencies (not a resolved tree).

Read: ``dependencies`` and ``dependencyManagement`` of the project and of its profiles. A dependency
without a ``<version>`` takes the one its ``dependencyManagement`` gives; ``${name}`` is replaced from
``<properties>`` (properties may refer to properties) and from the project's own coordinates
(``project.version``, falling back to the parent's, ``project.groupId``…). A hard requirement ``[1.2.3]``
is that version. What this file alone cannot tell — a version inherited from a parent POM or an imported
BOM, a property defined elsewhere, a version range — is reported as skipped with its line, never
guessed and never dropped in silence (osv-detector guesses ``0`` or a range's lower bound).

The XML is parsed by defusedxml with DTDs, entities and external references refused: a POM has no use
for them, and they are how XXE and entity-expansion ("billion laughs") attacks work.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnsec.errors import CnsecError
from cnsec.vulns.inventory import MAX_LOCKFILE_BYTES, LockfileFormat, Package, bad, partly

_PROPERTY = re.compile(r"\$\{([^}]*)\}")
_MAX_ROUNDS = 16  # property chains deeper than this (or cycles) are left unresolved
_MAX_LENGTH = 256  # no real version, group or artifact id comes near; a longer expansion is refused


@dataclass(slots=True)
class _Node:
    tag: str
    line: int
    children: list[_Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def find(self, *path: str) -> list[_Node]:
        nodes = [self]
        for tag in path:
            nodes = [c for n in nodes for c in n.children if c.tag == tag]
        return nodes

    def text(self, tag: str) -> str | None:
        found = self.find(tag)
        return "".join(found[0].parts).strip() if found else None


class _Builder:
    """An ElementTree parser target keeping what a POM needs: local tag names, text and start lines."""

    def __init__(self) -> None:
        self.stack: list[_Node] = []
        self.root: _Node | None = None
        self.parser: Any = None

    def start(self, tag: str, attrib: object) -> None:
        node = _Node(tag.rsplit("}", 1)[-1], int(self.parser.parser.CurrentLineNumber))
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, data: str) -> None:
        if self.stack:
            self.stack[-1].parts.append(data)

    def close(self) -> _Node | None:
        return self.root


def _load(path: Path, text: str) -> _Node:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser, ParseError

    builder = _Builder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(text)
        root = parser.close()
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise bad(path, line, f"not valid XML: {exc}") from None
    except DefusedXmlException as exc:
        raise bad(path, int(parser.parser.CurrentLineNumber),
                  f"refused: {type(exc).__name__} ({exc}); a pom.xml needs no DTD or entities") from None
    if not isinstance(root, _Node) or root.tag != "project":
        raise bad(path, 1, f"not a Maven POM (the root element is <{root.tag if root else '?'}>, not <project>)")
    return root


def _properties(project: _Node) -> dict[str, str]:
    props = {n.tag: "".join(n.parts).strip() for p in project.find("properties") for n in p.children}
    parent = project.find("parent")
    own = {k: project.text(k) or (parent[0].text(k) if parent else None)
           for k in ("groupId", "artifactId", "version")}
    for key, value in own.items():
        if value is not None:
            props.setdefault(f"project.{key}", value)
            props.setdefault(f"pom.{key}", value)
    if parent:
        for key in ("groupId", "artifactId", "version"):
            value = parent[0].text(key)
            if value is not None:
                props.setdefault(f"project.parent.{key}", value)
                props.setdefault(f"parent.{key}", value)
    return props


def _resolve(value: str, props: dict[str, str]) -> tuple[str, str | None]:
    """``value`` with its ``${...}`` replaced, or why it cannot be: a property this file does not define,
    a cycle, or an expansion past ``_MAX_LENGTH`` (properties can nest like XML entities: ten copies of ten
    copies… — the length is checked while building, so nothing large is ever built)."""
    for _ in range(_MAX_ROUNDS):
        if _PROPERTY.search(value) is None:
            return value, None
        parts: list[str] = []
        size = pos = 0
        for m in _PROPERTY.finditer(value):
            if m.group(1) not in props:
                return value, f"uses the property ${{{m.group(1)}}}, not defined in this file"
            parts += [value[pos:m.start()], props[m.group(1)]]
            size += m.start() - pos + len(props[m.group(1)])
            pos = m.end()
            if size > _MAX_LENGTH:
                return value, f"expands past {_MAX_LENGTH} characters"
        value = "".join(parts) + value[pos:]
    left = _PROPERTY.search(value)
    return value, f"uses the property ${{{left.group(1) if left else ''}}}, which refers to itself"


def _version(spec: str) -> str | None:
    """The one version a POM version spec names: ``1.2`` (soft) or ``[1.2]`` (hard); None for a range."""
    if spec.startswith("[") and spec.endswith("]") and "," not in spec:
        return spec[1:-1].strip() or None
    if any(c in spec for c in "[](),"):
        return None
    return spec or None


_MAX_PARENTS = 8  # a deeper chain of local parent POMs is not followed further


def _lineage(path: Path, project: _Node, skipped: list[tuple[int | None, str]]) -> list[tuple[Path, _Node]]:
    """The POM and the parent POMs beside it, child first: ``<relativePath>`` (default ``../pom.xml``)
    when the file there is the parent the POM names (its groupId and artifactId), as Maven looks before
    the repository. A parent that is not here (or ``<relativePath/>``, repository only) ends the chain; one
    that is here but cannot be read is said as skipped."""
    chain = [(path, project)]
    seen = {path.resolve()}
    for _ in range(_MAX_PARENTS):
        at, node = chain[-1]
        parent = node.find("parent")
        if not parent:
            break
        rel = parent[0].text("relativePath")
        if rel == "":
            break
        candidate = Path(os.path.normpath(at.parent / (rel or "../pom.xml")))  # as the folder walk names it
        candidate = candidate / "pom.xml" if candidate.is_dir() else candidate
        if not candidate.is_file() or candidate.resolve() in seen:
            break
        seen.add(candidate.resolve())
        try:
            if candidate.stat().st_size > MAX_LOCKFILE_BYTES:
                raise OSError("larger than a lockfile may be")
            loaded = _load(candidate, candidate.read_text(encoding="utf-8"))
        except (CnsecError, OSError, UnicodeDecodeError) as exc:
            skipped.append((parent[0].line, f"the parent POM {candidate} cannot be read ({_why(exc)}): the "
                                            "versions it would give are not known"))
            break
        own = (loaded.text("groupId") or (loaded.find("parent")[0].text("groupId") if loaded.find("parent")
                                          else None), loaded.text("artifactId"))
        if own != (parent[0].text("groupId"), parent[0].text("artifactId")):
            break  # another project's POM: Maven would take the parent from the repository
        chain.append((candidate, loaded))
    return chain


def _why(exc: Exception) -> str:
    if isinstance(exc, CnsecError):
        return exc.message
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def parse(path: Path, text: str) -> list[Package]:
    skipped: list[tuple[int | None, str]] = []
    chain = _lineage(path, _load(path, text), skipped)
    project = chain[0][1]
    props: dict[str, str] = {}
    for _, pom in reversed(chain):  # the child's properties win over its parents'
        props.update({n.tag: "".join(n.parts).strip() for p in pom.find("properties") for n in p.children})
    props.update({k: v for k, v in _properties(project).items() if k.startswith(("project.", "pom.", "parent."))})
    # (file, node) of every dependency, the POM's own first: an inherited one names its parent's file and line
    managed_nodes: list[tuple[Path, _Node]] = []
    direct_nodes: list[tuple[Path, _Node]] = []
    for at, pom in chain:
        scopes = [pom, *pom.find("profiles", "profile")]
        managed_nodes += [(at, d) for s in scopes for d in s.find("dependencyManagement", "dependencies", "dependency")
                          if d.text("scope") != "import"]  # an imported BOM: versions for others, not a library
        direct_nodes += [(at, d) for s in scopes for d in s.find("dependencies", "dependency")]
    managed: dict[str, str] = {}
    for _, dep in managed_nodes:
        name = _name(dep, props)
        if name and dep.text("version"):
            managed.setdefault(name, dep.text("version") or "")
    out: list[Package] = []
    seen: set[tuple[str, str]] = set()
    direct_names: set[str] = set()
    for (at, dep), is_direct in [(d, True) for d in direct_nodes] + [(d, False) for d in managed_nodes]:
        line, where = (dep.line, "") if at == path else (None, f"{at}:{dep.line}: ")
        name = _name(dep, props)
        if name is None:
            skipped.append((line, f"{where}a dependency without groupId and artifactId (or with one from an "
                                  "undefined property): not matched"))
            continue
        if name in direct_names and (not is_direct or at != path):
            continue  # read already: the POM's own declaration wins over an inherited or managed one
        if is_direct:
            direct_names.add(name)
        raw = dep.text("version") or (managed.get(name) if is_direct else None)
        if not raw:
            skipped.append((line, f"{where}{name}: version set by a parent POM or BOM that is not beside "
                                  "this file (not read): not matched"))
            continue
        value, why = _resolve(raw, props)
        if why is not None:
            skipped.append((line, f"{where}{name}: version {raw} {why}: not matched"))
            continue
        version = _version(value)
        if version is None:
            skipped.append((line, f"{where}{name}: version {value} is a range, not one version: not matched"))
            continue
        if (name, version) not in seen:
            seen.add((name, version))
            out.append(Package("Maven", name, version, str(at), dep.line))
    return partly(out, [], skipped)


def _name(dep: _Node, props: dict[str, str]) -> str | None:
    group, artifact = dep.text("groupId"), dep.text("artifactId")
    if not group or not artifact:
        return None
    group, g_missing = _resolve(group, props)
    artifact, a_missing = _resolve(artifact, props)
    return None if g_missing or a_missing else f"{group}:{artifact}"


FORMAT = LockfileFormat("maven", "Maven", ("pom.xml",), parse)
