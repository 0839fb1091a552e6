"""A cache of checked pathway documents, so that `backpath assess` does not parse YAML and run the JSON Schema
on every start (about 75 ms of a ~350 ms start).

What it holds: for a pathway file that loaded with no finding (no error, and no warning but the builder's, which
it gives again: `loader._BUILDER_WARNINGS`), the document as JSON (data, never code), in
`<cache>/pathways/<key>.json`. The key is the SHA-256 of the backpath version, the Python version, the shipped
JSON Schema and the file's bytes: an edited pathway, another backpath or another schema has another key, so it is
always checked in full. A cached document is still built and type-checked by the
loader (conditions, references, the compiled program); only the YAML parse and the schema pass are skipped. A
cache file that cannot be read or does not hold what was written is ignored.

Where: `$BACKPATH_CACHE_DIR`, else `$XDG_CACHE_HOME/backpath`, else `~/.cache/backpath`; `BACKPATH_CACHE=off`
switches it off. The folder is made private (0700) and files are written atomically (0600). Writing is best
effort: a read-only home or a full disk costs only the time the cache would have saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1
MAX_CACHED_BYTES = 8 << 20  # documents larger than this are not cached


def folder() -> Path | None:
    """The cache folder, or None when the cache is switched off."""
    if os.environ.get("BACKPATH_CACHE", "").lower() in ("off", "0", "no", "false"):
        return None
    explicit = os.environ.get("BACKPATH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "backpath"


def key(raw: bytes, schema_text: bytes) -> str:
    from backpath.version import __version__

    digest = hashlib.sha256()
    for part in (b"backpath-pathway-cache", str(CACHE_FORMAT).encode(), __version__.encode(),
                 sys.version.encode(), hashlib.sha256(schema_text).digest(), raw):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def read(raw: bytes, schema_text: bytes) -> Any | None:
    """The checked document cached for these bytes, or None."""
    where = folder()
    if where is None:
        return None
    path = where / "pathways" / f"{key(raw, schema_text)}.json"
    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_CACHED_BYTES + 1)
        entry = json.loads(text)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT or "document" not in entry:
        return None
    return entry["document"]


def write(raw: bytes, schema_text: bytes, document: Any) -> None:
    """Cache `document` (checked with no finding) for these bytes; silently does nothing when it cannot."""
    where = folder()
    if where is None:
        return
    try:
        text = json.dumps({"format": CACHE_FORMAT, "document": document}, ensure_ascii=False)
        if len(text) > MAX_CACHED_BYTES or json.loads(text)["document"] != document:
            return  # not plain JSON data (or too large): not worth a cache that could differ from the file
        target = where / "pathways"
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(temp, target / f"{key(raw, schema_text)}.json")
        except BaseException:
            os.unlink(temp)
            raise
    except (OSError, TypeError, ValueError, RecursionError):
        return
