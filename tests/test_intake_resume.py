"""Continuing a draft on another device with its reference code and a one-time PIN."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.db import utcnow
from portal.intake.models import Intake, ResumePin
from portal.intake.references import generate
from test_intake_wizard import JOURNEY, field_value, page_text, post_step, start_intake, the_intake, token_of

REASSURANCE = "If the code is right and we have a way to reach you, we have sent you a PIN."
REFUSAL = "This PIN did not work."


def _draft_with_contact(client: FlaskClient, session: Session) -> Intake:
    """A draft on the first device, with the household and contact pages answered."""
    token = start_intake(client)
    post_step(client, token, "household", JOURNEY["household"])
    assert post_step(client, token, "contact", JOURNEY["contact"]).status_code == 302
    return the_intake(session)


def _ask_for_pin(device: FlaskClient, code: str):  # type: ignore[no-untyped-def]
    token = token_of(device.get("/intake/resume?lang=en"))
    return device.post("/intake/resume", data={"csrf_token": token, "code": code})


def _send_pin(device: FlaskClient, code: str, pin: str):  # type: ignore[no-untyped-def]
    token = token_of(device.get("/intake/resume?lang=en"))
    return device.post("/intake/resume/pin", data={"csrf_token": token, "code": code, "pin": pin})


def _pins_sent(session: Session) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.kind == "one_time_pin").order_by(Message.id)))


def _without_tokens(text: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", text)


def test_a_draft_continues_on_another_device_with_the_code_and_the_pin_sent_to_the_person(
    client: FlaskClient, session: Session
) -> None:
    intake = _draft_with_contact(client, session)
    other_device = client.application.test_client()

    response = _ask_for_pin(other_device, intake.reference.lower().replace("-", " "))
    assert response.status_code == 200
    assert REASSURANCE in page_text(response)
    pins = _pins_sent(session)
    assert len(pins) == 1 and pins[0].phone == "+393331234567"
    pin = pins[0].context["pin"]
    assert pin not in page_text(response)

    response = _send_pin(other_device, intake.reference, pin)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/intake/step/contact"), "they continue where they left off"
    page = page_text(other_device.get("/intake/step/contact"))
    assert field_value(page, "contact.first_name") == "Maria"
    assert intake.reference in page
    assert "Welcome back" in page


def test_a_wrong_pin_is_refused_kindly_and_opens_nothing(client: FlaskClient, session: Session) -> None:
    intake = _draft_with_contact(client, session)
    other_device = client.application.test_client()
    _ask_for_pin(other_device, intake.reference)
    pin = _pins_sent(session)[0].context["pin"]
    wrong = "{:06d}".format((int(pin) + 1) % 10**6)

    response = _send_pin(other_device, intake.reference, wrong)
    assert response.status_code == 400
    page = page_text(response)
    assert REFUSAL in page and "Check it, or ask for a new one." in page
    assert 'href="/intake/resume"' in page, "a new PIN can be asked for"
    assert other_device.get("/intake/step/household").headers["Location"].endswith("/intake/")


def test_an_unknown_code_gets_exactly_the_answer_a_known_one_gets(client: FlaskClient, session: Session) -> None:
    intake = _draft_with_contact(client, session)
    unknown = generate()
    assert session.scalar(select(Intake.id).where(Intake.reference == unknown)) is None

    known_page = _ask_for_pin(client.application.test_client(), intake.reference)
    unknown_page = _ask_for_pin(client.application.test_client(), unknown)
    assert known_page.status_code == unknown_page.status_code == 200
    assert _without_tokens(page_text(known_page)).replace(intake.reference, "CODE") == _without_tokens(
        page_text(unknown_page)
    ).replace(unknown, "CODE")
    assert len(_pins_sent(session)) == 1, "only the real draft's contact gets a PIN"

    refused = _send_pin(client.application.test_client(), unknown, "123456")
    assert refused.status_code == 400 and REFUSAL in page_text(refused)


def test_a_code_with_a_typo_is_caught_before_anything_is_looked_up(client: FlaskClient, session: Session) -> None:
    response = _ask_for_pin(client, "PU-0000-0000")
    assert response.status_code == 400
    assert "This is not a reference code we gave." in page_text(response)
    assert _pins_sent(session) == []


def test_an_expired_pin_is_refused(client: FlaskClient, session: Session) -> None:
    intake = _draft_with_contact(client, session)
    other_device = client.application.test_client()
    _ask_for_pin(other_device, intake.reference)
    pin = _pins_sent(session)[0].context["pin"]
    session.execute(update(ResumePin).values(expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()

    response = _send_pin(other_device, intake.reference, pin)
    assert response.status_code == 400
    assert REFUSAL in page_text(response)
    assert other_device.get("/intake/step/household").headers["Location"].endswith("/intake/")


def test_a_used_pin_does_not_open_the_draft_a_second_time(client: FlaskClient, session: Session) -> None:
    intake = _draft_with_contact(client, session)
    _ask_for_pin(client.application.test_client(), intake.reference)
    pin = _pins_sent(session)[0].context["pin"]
    assert _send_pin(client.application.test_client(), intake.reference, pin).status_code == 302
    assert _send_pin(client.application.test_client(), intake.reference, pin).status_code == 400


def test_codes_and_pins_tried_in_a_burst_are_refused_with_429(client: FlaskClient) -> None:
    codes = [_ask_for_pin(client, generate()).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    pins = [_send_pin(client, generate(), "123456").status_code for _ in range(6)]
    assert pins == [400] * 5 + [429]
