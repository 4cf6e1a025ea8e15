"""Which approved WhatsApp Content template carries each message kind in each language.

Messages we start on WhatsApp must use a template the provider approved in advance
(outside the 24 hours after the person last wrote to us). The agency creates those
templates in its Twilio console, one per kind and language, and names their Content
SIDs in a small YAML file (``WHATSAPP_TEMPLATES_FILE``)::

    appointment_reminder:
      it: HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      ar: HXbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

The variables ``{{1}}``, ``{{2}}``... of each template are the kind's
``whatsapp_variables`` in ``messaging/templates.yaml``, in that order. A kind or language
without an entry is simply not sent on WhatsApp outside the window: the dispatcher moves
on to the person's next channel. The file is read and checked once, at start-up, so a
typo stops the deployment instead of quietly sending every message by SMS.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from portal.config import Config, ConfigError

#: A Twilio Content SID: "HX" and 32 hexadecimal digits.
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")

SETTING = "WHATSAPP_TEMPLATES_FILE"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice (YAML would keep the last silently)."""


def _mapping_without_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "{!r} is written twice".format(key), key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def templates_file(config: Config) -> Path | None:
    """The configured file, relative paths taken from the instance folder; None if unset."""
    raw = config.whatsapp_templates_file.strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    return path if path.is_absolute() else Path(config.instance_path) / path


def load_whatsapp_templates(path: Path, kinds: Iterable[str], languages: Iterable[str]) -> dict[tuple[str, str], str]:
    """Read ``path`` into {(kind, language): Content SID}, or raise :class:`ConfigError`.

    The error names the setting, the file and the entry at fault, since whoever reads it
    is deploying, not programming.
    """
    known_kinds, known_languages = sorted(kinds), sorted(languages)

    def problem(text: str, entry: str | None = None) -> ConfigError:
        where = "{} {}".format(SETTING, path) + (": {}".format(entry) if entry else "")
        return ConfigError("{}: {}".format(where, text))

    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, UnicodeDecodeError) as exc:
        raise problem("cannot be read ({})".format(exc.strerror if isinstance(exc, OSError) else exc)) from exc
    except yaml.YAMLError as exc:
        raise problem("is not valid YAML ({})".format(str(exc).replace("\n", " "))) from exc
    if not isinstance(data, dict) or not data:
        raise problem("expected a mapping of message kind → language → Content SID")

    found: dict[tuple[str, str], str] = {}
    for kind, by_language in data.items():
        kind = str(kind)
        if kind not in known_kinds:
            raise problem("unknown message kind (known: {})".format(", ".join(known_kinds)), kind)
        if not isinstance(by_language, dict) or not by_language:
            raise problem("expected a mapping of language → Content SID", kind)
        for language, sid in by_language.items():
            entry = "{}.{}".format(kind, language)
            if str(language) not in known_languages:
                raise problem("unknown language (known: {})".format(", ".join(known_languages)), entry)
            if not isinstance(sid, str) or not CONTENT_SID.fullmatch(sid.strip()):
                raise problem("{!r} is not a Content SID (HX and 32 hexadecimal digits)".format(sid), entry)
            found[(kind, str(language))] = sid.strip()
    return found


__all__ = ["CONTENT_SID", "load_whatsapp_templates", "templates_file"]
