"""Message texts as data, rendered per message in the recipient's language.

The texts live in ``templates.yaml`` beside this module, one entry per message kind,
with English msgids that ``make translations-update`` extracts into the portal's
catalogs (see ``babel_extract.py``). :func:`load_templates` reads and checks them once at
start-up; a :class:`Renderer` turns a kind, a language and a context into the text of
one channel.

Rendering order matters: the English msgid is translated FIRST and only then filled in
with ``str.format``, so the catalog lookup sees exactly the extracted msgid. Values are
formatted for the recipient: ``start`` (an aware ISO 8601 instant) becomes ``date`` (a
short weekday, day and month) and ``time`` (hours and minutes) in the agency's time zone
and the recipient's locale.

Why not ``flask_babel.force_locale`` and ``gettext``: messages are rendered by the
worker, in worker threads, for many recipients in many languages one after the other.
Flask-Babel keys the locale and the loaded catalogs on the application and request
context, which a worker thread does not have (and would have to push, per message, with
the risk of one thread's locale leaking into another's text). Here every call names its
language explicitly, catalogs are loaded with :meth:`babel.support.Translations.load`
into a per-language cache shared safely between threads, and nothing needs Flask: the
library stays importable without the portal (``messaging`` never imports ``portal``).
"""

from __future__ import annotations

import json
import string
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

import yaml
from babel import Locale
from babel.dates import format_skeleton
from babel.support import NullTranslations, Translations

from messaging.segments import prepare_sms

TEMPLATES_PATH = Path(__file__).resolve().parent / "templates.yaml"

#: The kinds the portal sends; each must be in the YAML (others may be added there).
KINDS: tuple[str, ...] = (
    "appointment_confirmation",
    "appointment_reminder",
    "appointment_rescheduled",
    "appointment_cancelled",
    "waiting_list_offer",
    "waiting_list_joined",
    "one_time_pin",
    "intake_receipt",
    "no_show_followup",
    "staff_notification",
)

#: The translatable texts of a kind.
TEXT_PARTS: tuple[str, ...] = ("sms", "email_subject", "email_body")
#: Everything a kind must declare.
PARTS: tuple[str, ...] = ("fields", "whatsapp_variables", *TEXT_PARTS)

#: Always available to every text: the neutral sender name from configuration.
GLOBAL_FIELDS: frozenset[str] = frozenset({"sender"})
#: Derived by the renderer from the context's ``start``.
DERIVED_FIELDS: dict[str, str] = {"date": "start", "time": "start"}
#: The fields a kind may declare (each has a known way of being formatted).
KNOWN_FIELDS: frozenset[str] = frozenset(
    {"date", "time", "address", "reference", "pin", "minutes", "helpline", "link", "count"}
)
#: Fields that may never reach a text message (links in SMS look like phishing and
#: may reveal the site behind them).
EMAIL_ONLY_FIELDS: frozenset[str] = frozenset({"link"})

CHANNELS: tuple[str, ...] = ("sms", "whatsapp", "email", "webhook", "console")

DEFAULT_LANGUAGE = "it"
#: The language of the msgids: it needs no catalog.
SOURCE_LANGUAGE = "en"
#: Babel locales behind language codes that are not locale identifiers by themselves.
BABEL_LOCALES: dict[str, str] = {"zh": "zh_Hans"}

DATE_SKELETON = "MMMEd"  # short weekday, day, short month: "sab 24 ott", "Sat, Oct 24"
TIME_SKELETON = "Hm"  # 24-hour hours and minutes: "17:30"


class TemplateError(Exception):
    """A template is malformed, or a message cannot be rendered without a hole in it."""


@dataclass(frozen=True)
class MessageTemplate:
    """The texts of one kind, as written in the YAML (English msgids)."""

    kind: str
    fields: tuple[str, ...]
    whatsapp_variables: tuple[str, ...]
    sms: str
    email_subject: str
    email_body: str

    def text(self, part: str) -> str:
        """The msgid of ``part`` ("sms", "email_subject" or "email_body")."""
        if part not in TEXT_PARTS:
            raise KeyError(part)
        return str(getattr(self, part))

    def required_context(self) -> tuple[str, ...]:
        """The context keys a caller must supply (``start`` for ``date``/``time``)."""
        keys: list[str] = []
        for name in self.fields:
            key = DERIVED_FIELDS.get(name, name)
            if key not in keys:
                keys.append(key)
        return tuple(keys)


@dataclass(frozen=True)
class Templates:
    """Every kind's template, checked; look one up with ``templates[kind]``."""

    kinds: Mapping[str, MessageTemplate]
    path: Path | None = None

    def __getitem__(self, kind: str) -> MessageTemplate:
        try:
            return self.kinds[kind]
        except KeyError:
            raise TemplateError("unknown message kind {!r}".format(kind)) from None

    def __iter__(self) -> Iterator[MessageTemplate]:
        return iter(self.kinds.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self.kinds

    def __len__(self) -> int:
        return len(self.kinds)


@dataclass(frozen=True)
class Rendered:
    """One message ready for a channel (see :class:`messaging.channels.base.Outgoing`)."""

    body: str
    subject: str | None = None
    html: str | None = None
    content_variables: dict[str, str] | None = None


# --- loading and checking -----------------------------------------------------------------


def placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders of ``text``, in order; anything fancier is refused.

    Only plain names are allowed: no positional ``{}``/``{0}``, no ``{a.b}`` or ``{a[0]}``,
    no conversions or format specs, which a translator could not be expected to keep.
    Raises :class:`ValueError` for those and for unbalanced braces.
    """
    names: list[str] = []
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError("placeholder {{{}}} is not a plain name".format(name))
        if spec or conversion:
            raise ValueError("placeholder {{{}}} has a conversion or format spec".format(name))
        names.append(name)
    return names


def _problem(kind: str, message: str) -> TemplateError:
    return TemplateError("message template {!r}: {}".format(kind, message))


def _name_list(kind: str, part: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _problem(kind, "{} must be a list of field names".format(part))
    if len(set(value)) != len(value):
        raise _problem(kind, "{} lists a field twice".format(part))
    return tuple(value)


def _check_kind(kind: str, entry: Any) -> MessageTemplate:
    if not isinstance(entry, dict):
        raise _problem(kind, "must be a mapping of {}".format(", ".join(PARTS)))
    missing = [part for part in PARTS if part not in entry]
    if missing:
        raise _problem(kind, "missing {}".format(", ".join(missing)))
    unknown = sorted(set(entry) - set(PARTS))
    if unknown:
        raise _problem(kind, "unknown part(s) {}".format(", ".join(unknown)))

    fields = _name_list(kind, "fields", entry["fields"])
    bad_fields = [name for name in fields if name not in KNOWN_FIELDS]
    if bad_fields:
        raise _problem(
            kind, "unknown field(s) {} (known: {})".format(", ".join(bad_fields), ", ".join(sorted(KNOWN_FIELDS)))
        )
    available = set(fields) | GLOBAL_FIELDS

    variables = _name_list(kind, "whatsapp_variables", entry["whatsapp_variables"])
    stray = [name for name in variables if name not in available]
    if stray:
        raise _problem(kind, "whatsapp_variables {} not among its fields".format(", ".join(stray)))
    leaking = [name for name in variables if name in EMAIL_ONLY_FIELDS]
    if leaking:
        raise _problem(kind, "whatsapp_variables may not use e-mail-only field(s) {}".format(", ".join(leaking)))

    texts: dict[str, str] = {}
    for part in TEXT_PARTS:
        text = entry[part]
        if not isinstance(text, str) or not text.strip():
            raise _problem(kind, "{} must be a non-empty text".format(part))
        try:
            used = placeholders(text)
        except ValueError as exc:
            raise _problem(kind, "{}: {}".format(part, exc)) from None
        unknown_names = sorted({name for name in used if name not in available})
        if unknown_names:
            raise _problem(
                kind,
                "{} uses placeholder(s) {} that are not in its fields".format(
                    part, ", ".join("{" + name + "}" for name in unknown_names)
                ),
            )
        if part == "sms":
            leaked = sorted({name for name in used if name in EMAIL_ONLY_FIELDS})
            if leaked:
                raise _problem(kind, "sms may not use e-mail-only placeholder(s) {}".format(", ".join(leaked)))
            if not text.startswith("{sender}:"):
                raise _problem(kind, "sms must start with '{sender}:'")
        if part == "email_subject" and "\n" in text.strip():
            raise _problem(kind, "email_subject must be one line")
        texts[part] = text
    return MessageTemplate(kind=kind, fields=fields, whatsapp_variables=variables, **texts)


def load_templates(path: Path | str = TEMPLATES_PATH) -> Templates:
    """Read the templates and check them all; raises :class:`TemplateError` naming the
    kind and the problem (call at start-up, so a bad edit stops the deploy, not a send)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError("cannot read message templates {}: {}".format(path, exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("kinds"), dict):
        raise TemplateError("{}: expected a top-level 'kinds' mapping".format(path))
    entries: dict[str, Any] = data["kinds"]
    absent = [kind for kind in KINDS if kind not in entries]
    if absent:
        raise TemplateError(
            "{}: message template(s) {} missing".format(path, ", ".join(repr(kind) for kind in absent))
        )
    kinds = {str(kind): _check_kind(str(kind), entry) for kind, entry in entries.items()}
    return Templates(kinds=kinds, path=path)


# --- rendering ------------------------------------------------------------------------------


class Renderer:
    """Renders messages; thread-safe, and needs no Flask app or request context.

    ``translations_dir`` holds ``<code>/LC_MESSAGES/messages.mo`` (compiled with
    ``make translations``). A language without a catalog there (and other than English,
    the msgids' own) is unknown and falls back to Italian; a language whose ``.po`` is
    there but was never compiled is an error rather than a silently English text.
    """

    def __init__(
        self,
        templates: Templates,
        translations_dir: Path | str,
        timezone: str,
        sender: str,
        *,
        default_language: str = DEFAULT_LANGUAGE,
    ) -> None:
        if not sender.strip():
            raise TemplateError("the sender name must not be empty")
        self.templates = templates
        self.translations_dir = Path(translations_dir)
        self.timezone = ZoneInfo(timezone)
        self.sender = sender
        self.default_language = default_language
        self._catalogs: dict[str, NullTranslations] = {}
        self._lock = threading.Lock()
        #: Languages with a catalog directory, found once (the msgids' English needs none).
        self.languages: frozenset[str] = frozenset(
            {SOURCE_LANGUAGE}
            | (
                {entry.name for entry in self.translations_dir.iterdir() if (entry / "LC_MESSAGES").is_dir()}
                if self.translations_dir.is_dir()
                else set()
            )
        )

    # languages

    def language_for(self, language: str | None) -> str:
        """The catalog code to use: ``zh-Hans``/``zh_CN`` give ``zh``; unknown gives Italian."""
        code = (language or "").replace("-", "_").split("_")[0].lower()
        return code if code in self.languages else self.default_language

    def _catalog_dir(self, code: str) -> Path:
        return self.translations_dir / code / "LC_MESSAGES"

    def locale_for(self, code: str) -> Locale:
        """The Babel locale that formats dates for ``code`` (``zh`` is ``zh_Hans``)."""
        return Locale.parse(BABEL_LOCALES.get(code, code))

    def translations(self, code: str) -> NullTranslations:
        """The catalog of ``code``, loaded once and shared by all threads."""
        catalog = self._catalogs.get(code)
        if catalog is not None:
            return catalog
        with self._lock:
            catalog = self._catalogs.get(code)
            if catalog is None:
                catalog = self._load(code)
                self._catalogs[code] = catalog
        return catalog

    def _load(self, code: str) -> NullTranslations:
        if code == SOURCE_LANGUAGE:
            return NullTranslations()
        if not (self._catalog_dir(code) / "messages.mo").is_file():
            raise TemplateError(
                "no compiled catalog for {!r} in {} (run `make translations`)".format(code, self.translations_dir)
            )
        # Translations.load hands the names to gettext.find, which looks for
        # <dir>/<name>/LC_MESSAGES/messages.mo for each expansion of the name ("zh_Hans"
        # tries zh_Hans/ then zh/; "zh" tries zh_CN.eucCN/, zh_CN/, zh.eucCN/, zh/). Passing
        # the directory's own code finds translations/zh/ without relying on that.
        loaded = Translations.load(str(self.translations_dir), [code], "messages")
        if not isinstance(loaded, Translations):  # pragma: no cover - the file exists
            raise TemplateError("could not load the {!r} catalog".format(code))
        return loaded

    # values

    def values(self, template: MessageTemplate, code: str, context: Mapping[str, Any]) -> dict[str, str]:
        """Every placeholder value of ``template``, formatted for language ``code``."""
        missing = [key for key in template.required_context() if context.get(key) in (None, "")]
        if missing:
            raise _problem(template.kind, "context lacks {}".format(", ".join(missing)))
        locale = self.locale_for(code)
        values: dict[str, str] = {"sender": self.sender}
        start: datetime | None = None
        for name in template.fields:
            if name in DERIVED_FIELDS:
                if start is None:
                    start = self._start(template.kind, context["start"])
                skeleton = DATE_SKELETON if name == "date" else TIME_SKELETON
                values[name] = format_skeleton(skeleton, start, locale=locale)
            else:
                values[name] = self._plain(template.kind, name, context[name])
        return values

    def _start(self, kind: str, raw: Any) -> datetime:
        try:
            start = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
        except ValueError:
            raise _problem(kind, "start {!r} is not an ISO 8601 date and time".format(raw)) from None
        if start.tzinfo is None or start.utcoffset() is None:
            raise _problem(kind, "start {!r} has no UTC offset".format(raw))
        return start.astimezone(self.timezone)

    @staticmethod
    def _plain(kind: str, name: str, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _problem(kind, "{} must be text or a whole number, not {}".format(name, type(value).__name__))
        return str(value)

    # texts

    def text(self, kind: str, part: str, language: str, context: Mapping[str, Any]) -> str:
        """One part ("sms", "email_subject", "email_body") translated, then filled in."""
        template = self.templates[kind]
        code = self.language_for(language)
        return self._fill(template, part, code, self.values(template, code, context))

    def _fill(self, template: MessageTemplate, part: str, code: str, values: Mapping[str, str]) -> str:
        translated = self.translations(code).gettext(template.text(part))
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise _problem(
                template.kind, "the {} translation of {} cannot be filled in ({!r})".format(code, part, exc)
            ) from None

    def render(self, kind: str, language: str, context: Mapping[str, Any], channel: str) -> Rendered:
        """The message of ``kind`` for one channel, in ``language`` (Italian if unknown).

        sms: the SMS text, normalised to GSM-7 when that keeps it in GSM-7; whatsapp: the
        same text untouched plus the approved template's ContentVariables; email: subject
        and plain-text body; webhook: JSON ``{"kind", "language", "context"}``; console:
        the SMS exactly as an SMS would carry it.
        """
        if channel not in CHANNELS:
            raise TemplateError("unknown channel {!r}".format(channel))
        template = self.templates[kind]
        code = self.language_for(language)
        values = self.values(template, code, context)
        if channel == "webhook":
            body = json.dumps({"kind": kind, "language": code, "context": dict(context)}, ensure_ascii=False, default=str)
            return Rendered(body=body)
        if channel == "email":
            subject = self._fill(template, "email_subject", code, values).strip()
            return Rendered(body=self._fill(template, "email_body", code, values), subject=subject)
        text = self._fill(template, "sms", code, values)
        if channel == "whatsapp":
            variables = {str(i): values[name] for i, name in enumerate(template.whatsapp_variables, start=1)}
            return Rendered(body=text, content_variables=variables)
        return Rendered(body=prepare_sms(text))


__all__ = [
    "KINDS",
    "MessageTemplate",
    "Rendered",
    "Renderer",
    "TemplateError",
    "Templates",
    "load_templates",
    "placeholders",
]
