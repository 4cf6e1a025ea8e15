"""Booking an appointment in a real Chromium, in Chinese and in Urdu (right to left), on the demo agency.

Every page of the journey passes axe (WCAG 2.1 AA), fits a phone's width and leaves a
screenshot (``test-artifacts/booking-<lang>-<page>.png``). Chinese is booked at *centro*,
where a cultural mediator joins; Urdu at *nord*, where a caseworker speaks it.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from harness import PHONE, assert_axe_clean, assert_only_own_origin, open_page, save_screenshot
from test_intake_browser import _fits_the_phone, _into_view, _press


def _check(driver: WebDriver, name: str, value: str) -> None:
    option = driver.find_element(By.CSS_SELECTOR, 'input[name="{}"][value="{}"]'.format(name, value))
    label = driver.find_element(By.CSS_SELECTOR, 'label[for="{}"]'.format(option.get_attribute("id")))
    _into_view(driver, label)
    label.click()
    assert option.is_selected(), (name, value)


def _type(driver: WebDriver, name: str, text: str) -> None:
    field = driver.find_element(By.NAME, name)
    _into_view(driver, field)
    field.clear()
    field.send_keys(text)


def _submit(driver: WebDriver) -> None:
    _press(driver, driver.find_element(By.CSS_SELECTOR, "form.intake-form .intake-actions button.btn-primary"))


def _page_is_fine(driver: WebDriver, lang: str, page: str) -> None:
    label = "booking {} ({})".format(page, lang)
    assert driver.execute_script("return document.documentElement.dir") == ("rtl" if lang == "ur" else "ltr"), label
    assert _fits_the_phone(driver), label
    save_screenshot(driver, "booking-{}-{}".format(lang, page))
    assert_axe_clean(driver, label)


@pytest.mark.parametrize(("lang", "office"), [("zh", "centro"), ("ur", "nord")])
def test_booking_an_appointment_in_a_real_browser_is_accessible_on_a_phone(
    browser: WebDriver, live_server: str, lang: str, office: str
) -> None:
    driver = browser
    open_page(driver, "{}/?lang={}".format(live_server, lang), PHONE)
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'a[data-element="appointment-booking"]'))
    assert driver.current_url.endswith("/appointments/book")
    _page_is_fine(driver, lang, "choose")

    _check(driver, "service", "primo_colloquio")
    _check(driver, "mode", "in_person")
    assert Select(driver.find_element(By.NAME, "language")).first_selected_option.get_attribute("value") == lang
    _submit(driver)  # no office yet: explained next to the field and in the summary
    assert driver.find_element(By.ID, "error-summary").is_displayed()
    assert driver.find_element(By.ID, "e-office").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, 'input[name="service"][value="primo_colloquio"]').is_selected()
    driver.get_log("browser")  # the page with errors answers 400, which the console reports
    _page_is_fine(driver, lang, "choose-error")
    _check(driver, "office", office)
    _submit(driver)

    assert driver.current_url.endswith("/appointments/book/slot")
    _page_is_fine(driver, lang, "slot")
    first = driver.find_element(By.CSS_SELECTOR, 'input[name="slot"]')
    if lang == "zh":  # nobody at centro speaks Chinese: a mediator joins
        assert driver.find_element(By.CSS_SELECTOR, 'label[for="{}"]'.format(first.get_attribute("id"))).text.count("·") == 1
    _into_view(driver, driver.find_element(By.CSS_SELECTOR, 'label[for="{}"]'.format(first.get_attribute("id"))))
    driver.find_element(By.CSS_SELECTOR, 'label[for="{}"]'.format(first.get_attribute("id"))).click()
    _submit(driver)

    assert driver.current_url.endswith("/appointments/book/details")
    _page_is_fine(driver, lang, "details")
    _type(driver, "first_name", "Li" if lang == "zh" else "Amna")
    _type(driver, "last_name", "Wei" if lang == "zh" else "Khan")
    _type(driver, "phone", "333 123 4567")
    assert Select(driver.find_element(By.NAME, "language")).first_selected_option.get_attribute("value") == lang
    _submit(driver)

    assert driver.current_url.endswith("/appointments/book/review")
    _page_is_fine(driver, lang, "review")
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/appointments/book/confirm"] button.btn-primary'))

    assert "/appointments/book" not in driver.current_url
    assert driver.find_element(By.CSS_SELECTOR, ".alert-success").is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, 'a[href$="/calendar.ics"]')
    _page_is_fine(driver, lang, "confirmation")
    assert_only_own_origin(driver, live_server)

    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action$="/cancel"] button'))
    _page_is_fine(driver, lang, "cancel")
