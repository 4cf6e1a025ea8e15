"""WHATSAPP_TEMPLATES_FILE: approved Content SIDs per kind and language, checked at start-up."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.orm import Session

from fakes.twilio_server import FakeTwilio
from messaging.db import utcnow
from messaging.models import Message, MessageStatus
from messaging.outbox import Recipient, enqueue
from portal import create_app
from portal.config import Config, ConfigError
from portal.db import get_engine
from portal.messages.services import build_dispatcher
from support import make_config

REMINDER_IT = "HX" + "a1" * 16
RECEIPT_IT = "HX" + "0123456789abcdef" * 2
RECEIPT = {"reference": "PU-7K4M-9Q2D", "helpline": "800 123 456", "link": "http://localhost/intake/resume"}


def _start(tmp_path: Path, text: str | None, name: str = "whatsapp-templates.yaml"):  # type: ignore[no-untyped-def]
    """Start the app with a templates file holding ``text`` (None: the file does not exist)."""
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    if text is not None:
        (instance / name).write_text(text, encoding="utf-8")
    return create_app(make_config("sqlite:///{}".format(tmp_path / "x.sqlite3"), instance, whatsapp_templates_file=name))


def test_the_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    """WHATSAPP_TEMPLATES_FILE is an ordinary environment variable, empty by default."""
    assert Config.from_env({}, tmp_path).whatsapp_templates_file == ""
    assert Config.from_env({"WHATSAPP_TEMPLATES_FILE": "wa.yaml"}, tmp_path).whatsapp_templates_file == "wa.yaml"


def test_a_relative_path_is_read_from_the_instance_folder(tmp_path: Path) -> None:
    """The file sits beside the instance's other private files; each kind and language gets its SID."""
    app = _start(tmp_path, "appointment_reminder:\n  it: {}\nintake_receipt:\n  it: {}\n".format(REMINDER_IT, RECEIPT_IT))
    assert app.extensions["messaging.whatsapp_templates"] == {
        ("appointment_reminder", "it"): REMINDER_IT,
        ("intake_receipt", "it"): RECEIPT_IT,
    }


def test_without_the_setting_no_template_is_used(tmp_path: Path) -> None:
    """WhatsApp then carries only replies inside the 24-hour window."""
    app = create_app(make_config("sqlite:///{}".format(tmp_path / "x.sqlite3"), tmp_path / "instance"))
    assert app.extensions["messaging.whatsapp_templates"] == {}


@pytest.mark.parametrize(
    "text, entry, problem",
    [
        ("confirmation:\n  it: {}\n".format(REMINDER_IT), "confirmation", "unknown message kind"),
        ("appointment_reminder:\n  fr: {}\n".format(REMINDER_IT), "appointment_reminder.fr", "unknown language"),
        ("appointment_reminder:\n  it: HX1234\n", "appointment_reminder.it", "not a Content SID"),
        ("appointment_reminder:\n  it: MG{}\n".format("a" * 32), "appointment_reminder.it", "not a Content SID"),
        ("appointment_reminder: {}\n".format(REMINDER_IT), "appointment_reminder", "expected a mapping"),
        ("appointment_reminder:\n  it: {0}\n  it: {0}\n".format(REMINDER_IT), "", "written twice"),
        ("appointment_reminder:\n  it: [\n", "", "not valid YAML"),
        ("- appointment_reminder\n", "", "expected a mapping"),
        ("", "", "expected a mapping"),
        (None, "", "cannot be read"),
    ],
    ids=["kind", "language", "short-sid", "not-a-content-sid", "no-languages", "twice", "yaml", "list", "empty", "missing"],
)
def test_a_mistake_in_the_file_stops_start_up_naming_the_file_and_the_entry(
    tmp_path: Path, text: str | None, entry: str, problem: str
) -> None:
    """Deploying with a typo fails at once, saying where, instead of sending everything by SMS."""
    with pytest.raises(ConfigError) as excinfo:
        _start(tmp_path, text)
    message = str(excinfo.value)
    assert "WHATSAPP_TEMPLATES_FILE" in message and str(tmp_path / "instance" / "whatsapp-templates.yaml") in message
    assert entry in message and problem in message


def test_a_file_that_is_not_text_stops_start_up(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are refused like a missing file, naming it."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "wa.yaml").write_bytes(b"\xff\xfe\x00broken")
    with pytest.raises(ConfigError, match="wa.yaml: cannot be read"):
        create_app(make_config("sqlite:///{}".format(tmp_path / "x.sqlite3"), instance, whatsapp_templates_file="wa.yaml"))


def test_the_shipped_example_file_is_valid(tmp_path: Path) -> None:
    """docs/whatsapp-templates.example.yaml can be copied as it is."""
    example = Path(__file__).resolve().parent.parent / "docs" / "whatsapp-templates.example.yaml"
    app = create_app(
        make_config("sqlite:///{}".format(tmp_path / "x.sqlite3"), tmp_path / "instance", whatsapp_templates_file=str(example))
    )
    assert len(app.extensions["messaging.whatsapp_templates"]) >= 2


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """The local Twilio-compatible server."""
    with FakeTwilio() as fake:
        yield fake


def test_the_configured_template_goes_out_and_an_unconfigured_language_falls_back_to_sms(
    database_url: str, tmp_path: Path, twilio: FakeTwilio, make_app
) -> None:  # type: ignore[no-untyped-def]
    """Italian has an approved template: WhatsApp with its ContentSid. Arabic has none: SMS instead."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "wa.yaml").write_text("intake_receipt:\n  it: {}\n".format(RECEIPT_IT), encoding="utf-8")
    app = make_app(
        database_url,
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_sms_from="+15005550006",
        twilio_whatsapp_from="+15005550007",
        twilio_api_base_url=twilio.base_url,
        quiet_hours_sms="",
        quiet_hours_whatsapp="",
        whatsapp_templates_file="wa.yaml",
    )
    with Session(get_engine(app), expire_on_commit=False) as session:
        ids = {
            language: enqueue(
                session,
                Recipient(key="person:{}".format(language), language=language, phone=phone, channels=("whatsapp", "sms")),
                "intake_receipt",
                RECEIPT,
                utcnow() - timedelta(minutes=1),
                idempotency_key="receipt:{}".format(language),
            ).id
            for language, phone in (("it", "+393331112222"), ("ar", "+393334445555"))
        }
        session.commit()
        dispatcher = build_dispatcher(app)
        try:
            assert dispatcher.drain().sent == 2
        finally:
            dispatcher.close()
        by_to = {sent["to"]: sent for sent in twilio.messages}
        template = by_to["whatsapp:+393331112222"]
        assert template["content_sid"] == RECEIPT_IT and template["from_"] == "whatsapp:+15005550007"
        assert "PU-7K4M-9Q2D" in json.loads(template["content_variables"]).values()
        fallback = by_to["+393334445555"]
        assert fallback["content_sid"] is None and "PU-7K4M-9Q2D" in fallback["body"]
        assert {session.get(Message, i).channel for i in ids.values()} == {"whatsapp", "sms"}
        assert all(session.get(Message, i).status == MessageStatus.SENT for i in ids.values())
