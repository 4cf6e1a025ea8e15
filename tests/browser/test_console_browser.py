"""The operator console in a real browser: the compact intake page and the staff pages pass axe."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from harness import DESKTOP, PHONE, assert_axe_clean, assert_only_own_origin, open_page, save_screenshot
from portal.console import services as console
from portal.db import utcnow
from portal.intake import services as intakes
from support import TEST_PASSWORD

ANSWERS = {
    "household.adults": 1,
    "household.minors": 2,
    "household.members": [{"relation": "child", "age": 4}],
    "housing.situation": "private_rent",
    "housing.eviction": "notice_received",
    "housing.eviction_date": utcnow().date(),
    "housing.eviction_cause": "arrears",
    "housing.arrears_cause": "job_loss",
    "housing.monthly_rent": Decimal("650.00"),
    "work.status": "unemployed",
    "residence.in_comune": True,
    "safety.violence": "past",
    "contact.first_name": "Amina",
    "contact.last_name": "Haddad",
    "contact.phone": "+393475551234",
    "contact.language": "ar",
    "contact.channel": "sms",
    "consent.privacy_acknowledged": True,
}


def _sign_in(driver: WebDriver, base: str, email: str, lang: str) -> None:
    open_page(driver, "{}/staff/login?lang={}".format(base, lang), DESKTOP)
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(TEST_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


@pytest.mark.parametrize("lang", ["it", "ar"])
def test_the_compact_intake_page_and_the_staff_views_are_accessible(
    browser: WebDriver, live_server: str, session, create_staff, lang: str  # type: ignore[no-untyped-def]
) -> None:
    """A draft's one-page form (also with errors shown), a submitted intake with its triage,
    the caller's record and a call pass axe in the staff UI, in Italian and in Arabic."""
    operator = create_staff(email="op@example.org", roles=("operator",), full_name="Giulia Operatrice")
    now = utcnow()
    submitted = intakes.start(session, "phone", "ar", now, staff=operator)
    intakes.save_answers(session, submitted, ANSWERS, now, staff=operator)
    intakes.submit(session, submitted, now, "2026-11", helpline="800 123 456", link="http://localhost/", staff=operator)
    call = console.start_call(session, operator, now, "new_request", person=submitted.person, intake=submitted, notes="Called")
    draft = console.start_for_caller(session, "phone", "ar", now, staff=operator, person=submitted.person)
    session.commit()
    _sign_in(browser, live_server, "op@example.org", lang)

    pages = {
        "console-intake-form": "/staff/console/intakes/{}".format(draft.id),
        "console-intake-view": "/staff/console/intakes/{}".format(submitted.id),
        "console-person": "/staff/console/people/{}".format(submitted.person_id),
        "console-call": "/staff/console/calls/{}".format(call.id),
        "console-search": "/staff/console/",
    }
    for name, path in pages.items():
        open_page(browser, live_server + path, DESKTOP)
        assert browser.execute_script("return document.documentElement.lang") == lang
        save_screenshot(browser, "{}-{}".format(name, lang))
        assert_axe_clean(browser, "{} ({})".format(name, lang))

    assert_only_own_origin(browser, live_server)  # before the 400 of a form with errors, which the console reports

    open_page(browser, live_server + pages["console-intake-form"], PHONE)
    adults = browser.find_element(By.ID, "q-household-adults")
    adults.clear()
    adults.send_keys("two")
    save = browser.find_element(By.CSS_SELECTOR, 'button[name="action"][value="save"]')
    browser.execute_script("arguments[0].click()", save)  # far below the fold of the emulated phone
    assert browser.find_element(By.ID, "error-summary").is_displayed()
    assert browser.find_element(By.ID, "q-household-adults").get_attribute("value") == "two"
    save_screenshot(browser, "console-intake-form-errors-{}".format(lang))
    assert_axe_clean(browser, "console intake form with errors ({}, phone)".format(lang))
