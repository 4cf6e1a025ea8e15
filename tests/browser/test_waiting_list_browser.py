"""The waiting list in a real Chromium, on a phone: joining in Arabic (right to left) and
taking a freed time, then leaving the list in Chinese.

Every page passes axe (WCAG 2.1 AA), fits a phone's width and leaves a screenshot
(``test-artifacts/waiting-<lang>-<page>.png``). The demo agency has free times for
almost everything within the waiting window, so each test first arranges, in the live
server's own database, a choice for which nothing is free soon enough. Assertions rely on
the pages' structure (ids, form actions, alerts), never on their wording: translations
of these pages arrive separately.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from flask import Flask
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from harness import PHONE, assert_axe_clean, assert_only_own_origin, open_page, save_screenshot
from portal.agency.models import Office, Service
from portal.appointments import services, waiting
from portal.appointments.calendar import public_holidays
from portal.appointments.models import Appointment, Closure, PlanException, WaitingListEntry
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import encode_slot, find_slots
from portal.auth.models import StaffMember
from portal.db import utcnow
from portal.people.services import new_person
from test_booking_browser import _check, _submit, _type
from test_intake_browser import _fits_the_phone, _press

SERVICE = "primo_colloquio"
OFFICE = "nord"


def _policy(app: Flask) -> BookingPolicy:
    return BookingPolicy.from_config(app.config["PORTA"])


def _page_is_fine(driver: WebDriver, lang: str, page: str) -> None:
    label = "waiting list {} ({})".format(page, lang)
    assert driver.execute_script("return document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr"), label
    assert _fits_the_phone(driver), label
    save_screenshot(driver, "waiting-{}-{}".format(lang, page))
    assert_axe_clean(driver, label)


def _a_day_at_nord_within_the_window(policy: BookingPolicy) -> date:
    """A day *nord* is open (Monday, Wednesday, Friday) at least two days ahead (past the
    minimum notice) and well inside the waiting window."""
    today = utcnow().astimezone(policy.timezone).date()
    first, last = today + timedelta(days=2), today + policy.waiting_after - timedelta(days=2)
    closed = public_holidays(first, last, policy.patron_day)
    day = first
    while day.weekday() not in (0, 2, 4) or day in closed:
        day += timedelta(days=1)
    assert day <= last, "no day at nord inside the waiting window"
    return day


def _arabic_times_soon_are_all_taken(session: Session, policy: BookingPolicy) -> list[Appointment]:
    """Nobody at *nord* speaks Arabic: in the window only one hour, when the operator who does
    comes to mediate, has Arabic times, and someone has booked them all."""
    operator = session.scalars(select(StaffMember).where(StaffMember.email == "operatore@example.org")).one()
    office = session.scalars(select(Office).where(Office.code == OFFICE)).one()
    service = session.scalars(select(Service).where(Service.code == SERVICE)).one()
    day = _a_day_at_nord_within_the_window(policy)
    session.add(PlanException(staff_id=operator.id, kind="extra", first_day=day, last_day=day, starts=time(9),
                              ends=time(10), office_id=office.id, modes=["in_person"], purpose="mediation"))
    session.flush()
    now = utcnow()
    slots = find_slots(session, policy, service, now, office=office, language="ar", mode="in_person")
    assert [(s.start.astimezone(policy.timezone).date(), s.mediator_id) for s in slots] == [(day, operator.id)] * 2
    someone = new_person(now, language="ar")
    session.add(someone)
    taken = [services.book(session, encode_slot(s, policy.secret_key), someone, now=now, policy=policy) for s in slots]
    session.commit()
    return taken


def _office_closed_for_the_window(session: Session, policy: BookingPolicy) -> Office:
    """*nord* closes for the next two weeks: its first free times come only after the window."""
    office = session.scalars(select(Office).where(Office.code == OFFICE)).one()
    today = utcnow().astimezone(policy.timezone).date()
    session.add_all(Closure(day=today + timedelta(days=offset), office_id=office.id, reason="works")
                    for offset in range(policy.waiting_after.days + 1))
    session.commit()
    return office


def test_joining_the_waiting_list_in_arabic_and_taking_a_freed_time_is_accessible_on_a_phone(
    browser: WebDriver, live_server: str, app: Flask, session: Session
) -> None:
    driver, lang, policy = browser, "ar", _policy(app)
    taken = _arabic_times_soon_are_all_taken(session, policy)

    open_page(driver, "{}/appointments/book?lang={}".format(live_server, lang), PHONE)
    _check(driver, "service", SERVICE)
    _check(driver, "office", OFFICE)
    _check(driver, "mode", "in_person")
    assert Select(driver.find_element(By.NAME, "language")).first_selected_option.get_attribute("value") == lang
    _submit(driver)

    assert driver.current_url.endswith("/appointments/book/slot")
    assert not driver.find_elements(By.CSS_SELECTOR, 'input[name="slot"]'), "every Arabic time is taken"
    box = driver.find_element(By.CSS_SELECTOR, 'section[aria-labelledby="waiting-title"]')
    assert box.is_displayed()
    _page_is_fine(driver, lang, "slot")
    _press(driver, box.find_element(By.CSS_SELECTOR, 'button[name="action"][value="wait"]'))

    assert driver.current_url.endswith("/appointments/book/details")
    _page_is_fine(driver, lang, "details")
    _type(driver, "first_name", "Amal")
    _type(driver, "last_name", "Haddad")
    _type(driver, "phone", "333 765 4321")
    _submit(driver)

    assert driver.current_url.endswith("/appointments/book/review")
    _page_is_fine(driver, lang, "review")
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/appointments/book/confirm"] button.btn-primary'))

    assert "/appointments/waiting/" in driver.current_url
    place = driver.current_url
    assert driver.find_element(By.CSS_SELECTOR, ".alert-success").is_displayed()
    assert "1" in driver.find_element(By.CSS_SELECTOR, "p.lead").text, "number 1 in line"
    assert not driver.find_elements(By.ID, "offer-title")
    _page_is_fine(driver, lang, "place")
    assert_only_own_origin(driver, live_server)
    entry = session.scalars(select(WaitingListEntry)).one()
    assert (entry.status, entry.language, entry.office_id) == ("waiting", "ar", taken[0].office_id)

    # Someone cancels: the line hears of it at once, in the same transaction.
    services.cancel(session, taken[1], now=utcnow(), policy=policy)
    session.commit()
    open_page(driver, place, PHONE)
    offer = driver.find_element(By.CSS_SELECTOR, 'section[aria-labelledby="offer-title"]')
    assert offer.is_displayed()
    assert not driver.find_elements(By.CSS_SELECTOR, "p.lead"), "an offer replaces the place in line"
    _page_is_fine(driver, lang, "offer")
    _press(driver, offer.find_element(By.CSS_SELECTOR, 'form[action$="/accept"] button.btn-primary'))

    assert "/appointments/waiting/" not in driver.current_url
    assert driver.find_element(By.CSS_SELECTOR, ".alert-success").is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, 'a[href$="/calendar.ics"]')
    _page_is_fine(driver, lang, "booked")
    session.expire_all()
    entry = session.scalars(select(WaitingListEntry)).one()
    booked = session.get(Appointment, entry.appointment_id)
    assert entry.status == "booked" and booked is not None
    assert (booked.starts_at, booked.mediator_language) == (taken[1].starts_at, "ar")
    assert driver.current_url.endswith("/appointments/{}".format(booked.manage_token))


def test_leaving_the_waiting_list_in_chinese_asks_first_on_an_accessible_page(
    browser: WebDriver, live_server: str, app: Flask, session: Session
) -> None:
    driver, lang, policy = browser, "zh", _policy(app)
    office = _office_closed_for_the_window(session, policy)
    service = session.scalars(select(Service).where(Service.code == SERVICE)).one()
    person = new_person(utcnow(), language=lang)
    person.first_name, person.last_name, person.phone = "Li", "Wei", "+393331234567"
    entry = waiting.join(session, person, service, now=utcnow(), policy=policy, office=office, mode="in_person",
                         language=lang)
    session.commit()
    place = "{}/appointments/waiting/{}".format(live_server, entry.manage_token)

    open_page(driver, "{}?lang={}".format(place, lang), PHONE)
    assert not driver.find_elements(By.ID, "offer-title"), "nothing is free within the window"
    _page_is_fine(driver, lang, "place")
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'section[aria-labelledby="leave-title"] form button'))

    assert driver.find_element(By.CSS_SELECTOR, 'form input[name="confirm"][value="yes"]')
    _page_is_fine(driver, lang, "leave")
    session.expire_all()
    assert session.get(WaitingListEntry, entry.id).status == "waiting", "asking is not leaving"
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action$="/leave"] button.btn-danger'))

    assert driver.current_url == place
    assert driver.find_element(By.CSS_SELECTOR, ".alert-success").is_displayed()
    assert not driver.find_elements(By.ID, "leave-title")
    assert driver.find_element(By.CSS_SELECTOR, '.alert-info[role="status"] a[href="/appointments/book"]')
    _page_is_fine(driver, lang, "left")
    session.expire_all()
    assert session.get(WaitingListEntry, entry.id).status == "left"
