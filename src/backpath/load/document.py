"""A parsed pathway document with the place of each value: what the builder, the bounds and the validator read.

Kept apart from `yamlio` (the YAML parser) so that a pathway built from the cache (`pathway_cache`), which is
JSON, never imports PyYAML: `backpath assess` starts without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backpath.core.errors import Finding

Path = tuple  # a JSON-pointer-like tuple of keys and indexes


@dataclass
class LoadedYaml:
    """A document as plain Python data plus the (line, column) of each path, 1-based."""

    data: object
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def position(self, path: Path) -> tuple[int | None, int | None]:
        """The place of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (None, None))


def path_text(path: Path) -> str:
    """('rules', 3, 'when') -> 'rules[3].when'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"
