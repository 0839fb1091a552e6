"""Strict, safe YAML loading that remembers the line and column of every value.

YAML is data here, never code: only the standard tags are accepted (an explicit tag such as
`!!python/object` is reported, never constructed), duplicate keys are errors, only `true`/`false`
are booleans (YAML 1.1 `yes`/`no`/`on`/`off` stay strings and are reported as warnings), numbers in YAML
1.1-only forms (`010` as 8, `1:30` as 90) are errors, dates stay strings, and alias expansion is bounded so a
"billion laughs" file fails fast.
"""

from __future__ import annotations

import re

import yaml

from backpath.core.errors import Finding
from backpath.load.document import LoadedYaml, Path, path_text

try:  # the C parser is much faster when PyYAML was built with libyaml
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    # mypy cannot model a base class chosen at import time; both loaders offer what StrictLoader uses
    _BaseLoader = yaml.SafeLoader  # type: ignore[misc, assignment]

MAX_NODES = 200_000
"""Most values a pathway may expand to, aliases included; far above any real pathway."""

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_ALLOWED_TAGS = {_STR, _BOOL, _INT, _FLOAT, _NULL, _SEQ, _MAP}
YAML11_BOOL_WORDS = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
# Numbers written the way YAML 1.2 (and JSON) reads them too. PyYAML follows YAML 1.1, which also reads `010` as
# 8 (octal), `1:30` as 90 (base 60), `0b11` as 3 and `1_000` as 1000; those forms are reported.
YAML12_NUMBER = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+"
                           r"|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?"
                           r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class StrictLoader(_BaseLoader):
    """SafeLoader with YAML 1.2-like scalars: only true/false are booleans, no timestamps."""


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, "tag:yaml.org,2002:timestamp")]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    StrictLoader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"))
    )


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.positions: dict[Path, tuple[int, int]] = {}
        self.findings: list[Finding] = []
        self.count = 0
        self.loader = StrictLoader("")

    def error(self, node: yaml.Node, path: Path, message: str, code: str, severity: str = "error") -> None:
        mark = node.start_mark
        self.findings.append(
            Finding(self.file, mark.line + 1, mark.column + 1, path_text(path), message, code, severity)
        )

    def build(self, node: yaml.Node, path: Path) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node)
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _ALLOWED_TAGS:
            self.error(
                node, path,
                f"the tag `{node.tag}` is not allowed: a pathway is plain data. Remove the tag.",
                "yaml-tag",
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # the composer makes only mapping, sequence and scalar nodes
        value = self.scalar(node, path)
        if node.tag == _STR and not node.style and YAML11_BOOL_WORDS.match(node.value):
            self.error(
                node, path,
                f"`{node.value}` is read as the text \"{node.value}\"; quote it to make that explicit, "
                "or write true/false for a yes/no value.",
                "yaml-bool-word", "warning",
            )
        return value

    def scalar(self, node: yaml.ScalarNode, path: Path) -> object:
        """A scalar's value; a number in a YAML 1.1-only form is reported (other readers would differ)."""
        value = self.loader.construct_object(node)
        if node.tag in (_INT, _FLOAT) and not YAML12_NUMBER.match(node.value):
            form = ("base 60" if ":" in node.value else "binary" if "0b" in node.value
                    else "octal" if re.match(r"^[-+]?0[0-7_]+$", node.value) else "with `_` separators")
            self.error(
                node, path,
                f"`{node.value}` is read as the number {value!r} (YAML 1.1, {form}); YAML 1.2 and JSON readers "
                f"would read it differently. Write {value!r} if that is the number meant, or quote the value if it "
                "is text.",
                "yaml-number",
            )
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        out: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.error(key_node, path, "merge keys (`<<`) are not supported; write the keys out.", "yaml-merge")
                continue
            key = self.build(key_node, path + ("<key>",)) if not isinstance(key_node, yaml.ScalarNode) \
                else self.scalar(key_node, path)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                self.error(key_node, path, f"a key must be text, not {key!r}; quote it.", "yaml-key")
                continue
            key = str(key)
            if key in out:
                self.error(
                    key_node, path + (key,),
                    f"duplicate key `{key}` (first at line {first_line[key]}); YAML would keep only the last. "
                    "Remove or rename one.",
                    "yaml-duplicate-key",
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.positions.setdefault(path + (key,), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            out[key] = self.build(value_node, path + (key,))
        return out


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def load_yaml(text: str, file: str) -> LoadedYaml:
    """Parse one YAML document. Problems come back as findings; nothing is raised for bad input."""
    builder = _Builder(file)
    try:
        loader = StrictLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:  # where the parser stopped, and where an unclosed bracket or quote opened
        from backpath.load.yaml_syntax import syntax_findings

        return LoadedYaml(None, {}, syntax_findings(exc, text, file))
    except yaml.YAMLError as exc:
        return LoadedYaml(None, {}, [Finding(file, None, None, "(document)", f"YAML error: {exc}", "yaml-syntax")])
    except RecursionError:
        return _too_deep(file)
    if node is None:
        return LoadedYaml(None, {}, [Finding(file, 1, 1, "(document)", "the file is empty.", "yaml-empty")])
    try:
        data = builder.build(node, ())
    except _TooLarge as exc:
        mark = exc.node.start_mark
        return LoadedYaml(None, {}, [Finding(
            file, mark.line + 1, mark.column + 1, "(document)",
            f"the document expands to more than {MAX_NODES:,} values (anchors and aliases?); "
            "a pathway never needs that many. Remove the repeated aliases.", "yaml-too-large")])
    except RecursionError:
        return _too_deep(file)
    except ValueError as exc:  # an integer of thousands of digits
        return LoadedYaml(None, {}, [Finding(file, None, None, "(document)", f"a value cannot be read: "
                                             f"{str(exc).split(';')[0]}.", "yaml-too-large")])
    return LoadedYaml(data, builder.positions, builder.findings)


def _too_deep(file: str) -> LoadedYaml:
    return LoadedYaml(None, {}, [Finding(file, None, None, "(document)", "the document nests too deeply; a pathway "
                                         "never needs that. Check the indentation.", "yaml-too-large")])
