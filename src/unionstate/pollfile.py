"""Reading a poll file (add-poll) or an entries file (verify): YAML within the limits of
unionstate.limits, every plain scalar kept as the text it is written as.

Read before any lock is taken, so that a slow or hostile file holds up no other command.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import limits
from .parse import yaml_error

EXAMPLE = "examples/new-poll.yaml"
# Resolvers that would turn plain scalars into numbers, booleans or dates.
_TYPED = {
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value", "tag:yaml.org,2002:yaml",
}


class YamlError(Exception):
    """The file is not readable YAML, or not a mapping: the command exits 2."""


class TextLoader(yaml.SafeLoader):
    """SafeLoader that keeps every plain scalar as its text (empty, ~ and null stay None),
    and refuses duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key '{key}'", key_node.start_mark)
                if isinstance(key, str):
                    seen[key] = True
        return super().construct_mapping(node, deep=deep)


TextLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _TYPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path, label: str) -> dict:
    """The YAML mapping in `path`; YamlError if it cannot be read or is not a mapping, or is
    beyond a limit of unionstate.limits (size, regular file, nesting, value length, lone
    surrogates)."""
    try:
        text = limits.read_bytes(path, limits.POLL_FILE_BYTES).decode("utf-8")
    except limits.LimitError as exc:
        raise YamlError(f"{label}: {exc}") from None
    except OSError as exc:
        raise YamlError(f"{label}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise YamlError(f"{label}: is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        _check_depth(text, label)
        doc = yaml.load(text, Loader=TextLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise YamlError(f"{label}: is not readable YAML: {yaml_error(exc)}") from None
    _check_values(doc, label)
    if not isinstance(doc, dict):
        kind = "an empty file" if doc is None else f"a {kind_of(doc)}"
        raise YamlError(f"{label}: is {kind}, not a mapping of a poll's fields; "
                        f"see {EXAMPLE} for the format")
    return doc


def _check_depth(text: str, label: str) -> None:
    """YamlError if collections nest deeper than limits.DEPTH, found from the parser's
    events before the (recursive) composer could run out of stack."""
    depth = 0
    for event in yaml.parse(text, Loader=TextLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.DEPTH:
                mark = event.start_mark
                raise YamlError(f"{label}: line {mark.line + 1}, column {mark.column + 1}: "
                                f"lists or mappings nest more than {limits.DEPTH} levels deep; "
                                "allowed: the fields of a poll and a list of results "
                                f"(see {EXAMPLE})")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_values(doc, label: str) -> None:
    """YamlError for a text value (or key) that is too long or holds a lone
    surrogate, naming its field ("results[2].option"). Each list or mapping is visited once,
    however often YAML aliases repeat it."""
    seen: set[int] = set()
    todo = [("", doc)]
    while todo:
        where, value = todo.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, list):
                todo += [(f"{where}[{i}]", v) for i, v in enumerate(value, start=1)]
                continue
            for key, item in value.items():
                wrong = isinstance(key, str) and (limits.long_value(key)
                                                  or limits.lone_surrogate(key))
                if wrong:
                    raise YamlError(f"{label}, {where or 'top level'}: a key {wrong}")
                todo.append((f"{where}.{key}" if where else str(key), item))
        elif isinstance(value, str):
            wrong = limits.long_value(value) or limits.lone_surrogate(value)
            if wrong:
                raise YamlError(f"{label}, {where}: {wrong}")


def kind_of(value) -> str:
    kinds = {list: "list", dict: "mapping", str: "single value"}
    return kinds.get(type(value), type(value).__name__)
