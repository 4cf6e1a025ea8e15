"""The self-screening in a real Chromium: whole journeys in Italian and Arabic, the quick exit, no JavaScript."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from harness import PHONE, assert_axe_clean, assert_only_own_origin, open_page, save_screenshot, wait_until_loaded
from test_intake_wizard import JOURNEY, SECTIONS


def _into_view(driver: WebDriver, element: WebElement) -> None:
    """Bootstrap scrolls smoothly: jump instead, so a click lands where the element is."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)


def _press(driver: WebDriver, button: WebElement) -> None:
    """Click a button that loads a new page, and wait for that page.

    The old page is marked; the new one is there when the mark is gone. Asking while the
    browser swaps documents can fail in several ways, all meaning "not yet".
    """
    driver.execute_script("window.portaOldPage = true")
    _into_view(driver, button)
    button.click()
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !window.portaOldPage"), "the page did not change"
    )
    wait_until_loaded(driver)


def _button(driver: WebDriver, action: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, 'form.intake-form button.btn[name="action"][value="{}"]'.format(action))


def _fill(driver: WebDriver, answers: dict[str, Any]) -> None:
    """Answer as a person would: typing, ticking and choosing; dates through the picker's value."""
    for name, value in answers.items():
        if value == "":
            continue
        codes = value if isinstance(value, list) else [value]
        fields = driver.find_elements(By.NAME, name)
        assert fields, "no field {} on the page".format(name)
        field = fields[0]
        kind = field.get_attribute("type")
        if field.tag_name == "select":
            _into_view(driver, field)
            Select(field).select_by_value(value)
        elif kind in ("radio", "checkbox"):
            for code in codes:
                option = driver.find_element(By.CSS_SELECTOR, 'input[name="{}"][value="{}"]'.format(name, code))
                if not option.is_selected():
                    label = driver.find_element(By.CSS_SELECTOR, 'label[for="{}"]'.format(option.get_attribute("id")))
                    _into_view(driver, label)
                    label.click()
                assert option.is_selected(), (name, code)
        elif kind == "date":
            _into_view(driver, field)
            driver.execute_script("arguments[0].value = arguments[1]", field, value)
        else:
            _into_view(driver, field)
            field.clear()
            field.send_keys(value)


def _fits_the_phone(driver: WebDriver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def _quick_exit_to(app: Flask, url: str) -> None:
    """The neutral page cannot be reached from a test: leave to one of the live server's own pages."""
    app.config["PORTA"] = app.config["PORTA"].replace(quick_exit_url=url)


@pytest.mark.parametrize("lang", ["it", "ar"])
def test_the_whole_self_screening_in_a_real_browser_is_accessible_on_a_phone(
    browser: WebDriver, live_server: str, lang: str
) -> None:
    """Landing page, every step (one shown with an error), the review, the result and its printable
    page: each passes axe (WCAG 2.1 AA), fits a phone's width and leaves a screenshot
    (``test-artifacts/intake-<lang>-<page>.png``); Arabic is laid out right to left."""
    driver = browser
    open_page(driver, "{}/intake/?lang={}".format(live_server, lang), PHONE)
    assert driver.execute_script("return document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    save_screenshot(driver, "intake-{}-start".format(lang))
    assert_axe_clean(driver, "intake start ({})".format(lang))
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/intake/start"] button'))

    for number, section in enumerate(SECTIONS, start=1):
        assert driver.current_url.endswith("/intake/step/{}".format(section)), driver.current_url
        assert "{}".format(number) in driver.find_element(By.ID, "progress-label").text
        assert driver.find_element(By.CSS_SELECTOR, ".intake-reference .intake-code").text.startswith("PU-")
        label = "intake step {} ({})".format(section, lang)
        assert _fits_the_phone(driver), label
        assert_axe_clean(driver, label)
        if section == "household":
            _fill(driver, {**JOURNEY[section], "household.adults": "due"})
            _press(driver, _button(driver, "next"))
            summary = driver.find_element(By.ID, "error-summary")
            assert summary.is_displayed()
            summary.find_element(By.CSS_SELECTOR, 'a[href="#q-household.adults"]').click()
            WebDriverWait(driver, 5).until(  # Bootstrap scrolls smoothly to the field
                lambda d: d.execute_script(
                    "const bar = document.querySelector('.quick-exit').getBoundingClientRect();"
                    "const field = document.getElementById('q-household.adults').getBoundingClientRect();"
                    "return field.top >= bar.bottom && field.bottom <= window.innerHeight"
                ),
                "the summary's link should show the field, not leave it under the quick exit",
            )
            assert driver.find_element(By.NAME, "household.adults").get_attribute("value") == "due"
            assert driver.find_element(By.NAME, "household.minors").get_attribute("value") == "1"
            save_screenshot(driver, "intake-{}-household-error".format(lang))
            assert_axe_clean(driver, label + " with an error")
            driver.get_log("browser")  # the page with errors answers 400, which the console reports
            _fill(driver, {"household.adults": "2"})
        else:
            _fill(driver, JOURNEY[section])
        save_screenshot(driver, "intake-{}-{}".format(lang, section))
        _press(driver, _button(driver, "next"))

    assert driver.current_url.endswith("/intake/review")
    save_screenshot(driver, "intake-{}-review".format(lang))
    assert_axe_clean(driver, "intake review ({})".format(lang))
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/intake/submit"] button'))

    assert driver.current_url.endswith("/intake/result")
    assert driver.find_element(By.CSS_SELECTOR, ".intake-code-big").text.startswith("PU-")
    assert driver.find_elements(By.CSS_SELECTOR, ".intake-measure"), "the measures are explained"
    assert _fits_the_phone(driver)
    save_screenshot(driver, "intake-{}-result".format(lang))
    assert_axe_clean(driver, "intake result ({})".format(lang))
    assert_only_own_origin(driver, live_server)
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'a[href="/intake/result/print"]'))
    save_screenshot(driver, "intake-{}-result-print".format(lang))
    assert_axe_clean(driver, "intake printable result ({})".format(lang))
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not driver.find_element(By.ID, "quick-exit").is_displayed(), "the print shows no site furniture"
        assert not driver.find_element(By.CSS_SELECTOR, ".it-header-wrapper").is_displayed()
        assert driver.find_element(By.CSS_SELECTOR, ".intake-code-big").is_displayed()
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def _on_a_wizard_page_opened_by_itself(driver: WebDriver, live_server: str) -> int:
    """Start an intake, then open its first page as the only wizard entry after a blank page."""
    open_page(driver, "{}/intake/?lang=it".format(live_server), PHONE)
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/intake/start"] button'))
    driver.get("about:blank")
    open_page(driver, "{}/intake/step/household".format(live_server), PHONE)
    return driver.execute_script("return history.length")


def _left_for(driver: WebDriver, url: str) -> None:
    WebDriverWait(driver, 10).until(lambda d: d.current_url == url, "the quick exit did not leave the page")


def test_pressing_shift_three_times_leaves_at_once_and_going_back_does_not_return_to_the_wizard(
    browser: WebDriver, live_server: str, app: Flask
) -> None:
    neutral = "{}/healthz".format(live_server)
    _quick_exit_to(app, neutral)
    length = _on_a_wizard_page_opened_by_itself(browser, live_server)
    browser.find_element(By.NAME, "household.adults").send_keys("2")
    keys = ActionChains(browser)
    for _ in range(3):
        keys.key_down(Keys.SHIFT).key_up(Keys.SHIFT)
    keys.perform()
    _left_for(browser, neutral)
    assert browser.execute_script("return history.length") == length, "the wizard's entry was replaced"
    browser.back()
    WebDriverWait(browser, 10).until(lambda d: d.current_url != neutral)
    assert "/intake/" not in browser.current_url, browser.current_url


def test_typing_capital_letters_between_presses_of_shift_does_not_leave(
    browser: WebDriver, live_server: str, app: Flask
) -> None:
    _quick_exit_to(app, "{}/healthz".format(live_server))
    _on_a_wizard_page_opened_by_itself(browser, live_server)
    browser.find_element(By.NAME, "household.adults").click()
    keys = ActionChains(browser)
    keys.key_down(Keys.SHIFT).key_up(Keys.SHIFT).key_down(Keys.SHIFT).send_keys("A").key_up(Keys.SHIFT)
    keys.key_down(Keys.SHIFT).key_up(Keys.SHIFT).send_keys("M").key_down(Keys.SHIFT).key_up(Keys.SHIFT)
    keys.perform()
    browser.find_element(By.NAME, "household.adults").send_keys("RSS")
    assert browser.current_url.endswith("/intake/step/household")
    assert browser.find_element(By.NAME, "household.adults").get_attribute("value") == "AMRSS"


def test_the_quick_exit_button_leaves_at_once_replacing_the_page_in_the_history(
    browser: WebDriver, live_server: str, app: Flask
) -> None:
    neutral = "{}/privacy".format(live_server)
    _quick_exit_to(app, neutral)
    length = _on_a_wizard_page_opened_by_itself(browser, live_server)
    button = browser.find_element(By.ID, "quick-exit")
    browser.execute_script("window.scrollTo({top: document.body.scrollHeight, behavior: 'instant'})")
    assert button.is_displayed() and browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight", button
    ), "the quick exit stays in view while scrolling"
    button.click()
    _left_for(browser, neutral)
    assert browser.execute_script("return history.length") == length
    browser.back()
    WebDriverWait(browser, 10).until(lambda d: d.current_url != neutral)
    assert "/intake/" not in browser.current_url, browser.current_url


def test_without_javascript_a_wrong_answer_comes_back_explained_and_the_quick_exit_is_a_plain_link(
    browser_nojs: WebDriver, live_server: str, app: Flask
) -> None:
    neutral = "{}/healthz".format(live_server)
    _quick_exit_to(app, neutral)
    driver = browser_nojs
    open_page(driver, "{}/intake/?lang=it".format(live_server), PHONE)
    _press(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/intake/start"] button'))
    _fill(driver, {"household.adults": "tanti", "household.minors": "0", "household.members.0.age": "4"})
    _press(driver, _button(driver, "next"))
    assert driver.current_url.endswith("/intake/step/household")
    assert driver.find_element(By.ID, "error-summary").is_displayed()
    assert driver.find_element(By.ID, "e-household.adults").is_displayed()
    assert driver.find_element(By.NAME, "household.adults").get_attribute("value") == "tanti"
    assert driver.find_element(By.NAME, "household.minors").get_attribute("value") == "0"
    assert driver.find_element(By.NAME, "household.members.0.age").get_attribute("value") == "4"
    save_screenshot(driver, "intake-it-nojs-error")  # axe needs JavaScript: the same page is checked above

    _press(driver, _button(driver, "add_row"))
    assert driver.find_elements(By.NAME, "household.members.1.age"), "a row was added without JavaScript"
    link = driver.find_element(By.ID, "quick-exit")
    assert link.get_attribute("rel") == "noreferrer" and not link.get_attribute("target")
    _into_view(driver, link)
    link.click()
    _left_for(driver, neutral)
