"""The pathways bundled with backpath, found through importlib.resources from any directory."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from backpath.core.errors import PathwayError, PathwayNotFound
from backpath.core.model import Pathway
from backpath.load.loader import load_pathway

DEFAULT_PATHWAY = "low-back-pain"


@dataclass(frozen=True)
class Bundled:
    id: str
    path: Path


def bundled() -> list[Bundled]:
    """Every bundled pathway file, sorted by id."""
    folder = resources.files("backpath.pathways")
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml") and not entry.name.endswith(".cases.yaml"):
            out.append(Bundled(entry.name[: -len(".yaml")], Path(str(entry))))
    return sorted(out, key=lambda b: b.id)


def resolve(id_or_path: str | None) -> Path:
    """A bundled id or a path to a YAML file -> the file to load."""
    name = id_or_path or DEFAULT_PATHWAY
    for b in bundled():
        if b.id == name:
            return b.path
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise PathwayNotFound(f"no pathway file at {name}; check the path.")
        if path.is_dir():
            raise PathwayNotFound(f"{name} is a folder; give a pathway .yaml file inside it.")
        return path
    ids = ", ".join(b.id for b in bundled()) or "none"
    raise PathwayNotFound(f"no bundled pathway `{name}` and no such file. Bundled pathways: {ids}. "
                          "Give a bundled id or a path to a .yaml file.")


def open_pathway(id_or_path: str | None = None) -> Pathway:
    """Load a bundled pathway by id, or a pathway file by path."""
    path = resolve(id_or_path)
    return load_pathway(path)


def listing() -> list[dict]:
    """Each bundled pathway as `backpath pathways` lists it: id, version, title, sha256 (of the file's bytes, as
    every result carries it) and file; an invalid one with version None and the number of its problems."""
    import hashlib

    rows = []
    for b in bundled():
        try:
            digest: str | None = hashlib.sha256(b.path.read_bytes()).hexdigest()
        except OSError:
            digest = None
        try:
            pw = open_pathway(str(b.path))
            rows.append({"id": b.id, "version": pw.version, "title": pw.title, "sha256": digest,
                         "file": str(b.path)})
        except PathwayError as exc:
            rows.append({"id": b.id, "version": None, "title": f"(invalid: {len(exc.findings)} problems)",
                         "sha256": digest, "file": str(b.path)})
    return rows
