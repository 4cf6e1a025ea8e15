"""Helpers the tests share: configurations, forms with CSRF, signing in."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from portal.config import Config

TEST_PASSWORD = "correct horse battery staple"


def _required(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def skip_or_fail(reason: str, flag: str) -> None:
    """Skip a test whose dependency is missing, or fail it when CI demands it."""
    if _required(flag):
        pytest.fail("{} ({}=1 makes this a failure)".format(reason, flag), pytrace=False)
    pytest.skip(reason)


def make_config(database_url: str, instance_path: Path, **overrides: Any) -> Config:
    """A development configuration pointing at ``database_url``."""
    values: dict[str, Any] = {
        "env": "development",
        "database_url": database_url,
        "secret_key": "test-" + uuid.uuid4().hex,
        "public_base_url": "http://localhost",
        "instance_path": str(instance_path),
        "helpline_number": "800 123 456",
        # Tests must not depend on the hour they run at: quiet hours are tested on purpose,
        # with a fixed clock, where they matter (test_dispatcher, test_messaging_policy).
        "quiet_hours_sms": "",
        "quiet_hours_whatsapp": "",
    }
    values.update(overrides)
    return Config(**values)


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """Open a page and read the CSRF token its form carries, as a browser would."""
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, "no CSRF token on {}".format(url)
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
    """Sign in through the real form."""
    token = csrf_token(client, "/staff/login")
    return client.post("/staff/login", data={"csrf_token": token, "email": email, "password": password})
