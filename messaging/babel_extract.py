"""A Babel extractor for translatable strings kept in YAML files.

Registered as the ``porta_yaml`` extraction method (``[project.entry-points."babel.extractors"]``
in ``pyproject.toml``) and used from ``babel.cfg``::

    [porta_yaml: messaging/templates.yaml]
    keys = sms, email_subject, email_body

Every string value found under one of the listed ``keys``, at any depth, is a msgid
(a list of strings under such a key gives one msgid per item); other keys are ignored,
so field names, ids and numbers never reach the catalogs. Line numbers are those of the
values, for ``#:`` references. Standard library and PyYAML only.
"""

from __future__ import annotations

from typing import IO, Any, Collection, Iterator, Mapping

import yaml

_STR_TAG = "tag:yaml.org,2002:str"


def _keys(options: Mapping[str, Any]) -> frozenset[str]:
    raw = options.get("keys", "")
    if isinstance(raw, str):
        raw = raw.split(",")
    return frozenset(key.strip() for key in raw if key.strip())


def _strings(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    """The string scalars in ``node``: itself, or the items of a list."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR_TAG and node.value.strip():
            yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _strings(item)


def _walk(node: yaml.Node | None, keys: frozenset[str]) -> Iterator[yaml.ScalarNode]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value in keys:
                yield from _strings(value_node)
            else:
                yield from _walk(value_node, keys)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item, keys)


def extract_yaml(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, None, str, list[str]]]:
    """Yield ``(lineno, None, text, [])`` for each string under ``options["keys"]``.

    ``keys`` is comma-separated (as in ``babel.cfg``); ``encoding`` defaults to UTF-8.
    ``keywords`` and ``comment_tags`` are part of Babel's protocol and unused here.
    """
    keys = _keys(options)
    if not keys:
        return
    source = fileobj.read()
    text = source.decode(options.get("encoding", "utf-8")) if isinstance(source, bytes) else source
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    for scalar in _walk(root, keys):
        yield scalar.start_mark.line + 1, None, scalar.value, []
