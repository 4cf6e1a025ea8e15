"""The fake Twilio server, driven only through the real ``twilio`` client.

These tests pin down what the messaging suite and the throughput benchmark rely on:
that the real client, built by ``make_client``, talks to the fake unchanged, and that
every fault the fake can inject reaches our code the way Twilio's would.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from fakes.twilio_server import FakeTwilio, make_client

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
SENDER = "+15005550006"
ROOT = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = ROOT / "tests" / "fakes" / "twilio_server.py"


def _fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-twilio")]


@pytest.fixture(autouse=True)
def _no_threads_left_behind() -> Iterator[None]:
    """Every test must leave no server or connection thread running."""
    yield
    assert _fake_threads() == []


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def twilio(fake: FakeTwilio) -> Iterator[Client]:
    client = make_client(fake.base_url, ACCOUNT_SID, AUTH_TOKEN)
    yield client
    client.http_client.session.close()


def test_a_created_message_is_recorded_exactly_as_sent(fake: FakeTwilio, twilio: Client) -> None:
    """What the client sent is what the fake holds; the answer is a Twilio Message."""
    before = datetime.now(timezone.utc).replace(microsecond=0)
    msg = twilio.messages.create(
        to="+393331234567", from_=SENDER, body="Ciao, la sua pratica è pronta", status_callback="http://x/cb?m=1"
    )
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert (msg.status, msg.to, msg.from_, msg.account_sid) == ("queued", "+393331234567", SENDER, ACCOUNT_SID)
    assert msg.num_segments == "1" and msg.error_code is None
    assert msg.uri == "/2010-04-01/Accounts/{}/Messages/{}.json".format(ACCOUNT_SID, msg.sid)
    [recorded] = fake.messages
    assert recorded == {
        "sid": msg.sid,
        "account_sid": ACCOUNT_SID,
        "to": "+393331234567",
        "from_": SENDER,
        "messaging_service_sid": None,
        "body": "Ciao, la sua pratica è pronta",
        "content_sid": None,
        "content_variables": None,
        "status_callback": "http://x/cb?m=1",
        "date_created": msg.date_created,
    }
    assert recorded["date_created"].tzinfo is not None
    assert before <= recorded["date_created"] <= datetime.now(timezone.utc)
    assert fake.requests_count == 1


def test_a_message_can_be_fetched_by_sid_and_an_unknown_sid_is_a_404(fake: FakeTwilio, twilio: Client) -> None:
    """GET Messages/{Sid}.json: the same resource; 404 / 20404 for a sid never seen."""
    sid = twilio.messages.create(to="+393331234567", from_=SENDER, body="hi").sid
    assert twilio.messages(sid).fetch().body == "hi"
    with pytest.raises(TwilioRestException) as caught:
        twilio.messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_a_whatsapp_template_send_is_recorded(fake: FakeTwilio, twilio: Client) -> None:
    """ContentSid and the ContentVariables JSON string arrive untouched, with no Body."""
    variables = json.dumps({"1": "Maria", "2": "12/03 ore 10:00"})
    msg = twilio.messages.create(
        to="whatsapp:+393331234567",
        from_="whatsapp:+14155238886",
        content_sid="HX" + "a" * 32,
        content_variables=variables,
    )
    [recorded] = fake.messages
    assert recorded["sid"] == msg.sid
    assert recorded["to"] == "whatsapp:+393331234567"
    assert recorded["from_"] == "whatsapp:+14155238886"
    assert recorded["content_sid"] == "HX" + "a" * 32
    assert json.loads(recorded["content_variables"]) == {"1": "Maria", "2": "12/03 ore 10:00"}
    assert recorded["body"] is None


def test_a_messaging_service_can_stand_in_for_from(fake: FakeTwilio, twilio: Client) -> None:
    """MessagingServiceSid instead of From: accepted, from is null as with Twilio."""
    msg = twilio.messages.create(to="+393331234567", messaging_service_sid="MG" + "b" * 32, body="hi")
    assert msg.from_ is None and msg.messaging_service_sid == "MG" + "b" * 32
    assert fake.messages[0]["messaging_service_sid"] == "MG" + "b" * 32


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "", "from_": SENDER, "body": "hi"}, 21604),
        ({"to": "+393331234567", "body": "hi"}, 21603),
        ({"to": "+393331234567", "from_": SENDER}, 21602),
    ],
    ids=["no-to", "no-from", "no-body"],
)
def test_an_incomplete_message_is_refused_with_twilio_s_code(
    fake: FakeTwilio, twilio: Client, kwargs: dict[str, str], code: int
) -> None:
    """Missing To, From/MessagingServiceSid, or Body/ContentSid: HTTP 400 and the code."""
    with pytest.raises(TwilioRestException) as caught:
        twilio.messages.create(**kwargs)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert fake.messages == [] and fake.requests_count == 1


@pytest.mark.parametrize("code", [21610, 21211, 21614, 63016])
def test_a_configured_permanent_error_raises_with_its_code(fake: FakeTwilio, twilio: Client, code: int) -> None:
    """errors_for[To] answers HTTP 400 with that code, every time, and records nothing."""
    fake.errors_for["+393330000001"] = code
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            twilio.messages.create(to="+393330000001", from_=SENDER, body="hi")
        assert (caught.value.status, caught.value.code) == (400, code)
        assert caught.value.msg.startswith("Unable to create record: ")
    assert fake.messages == []
    assert twilio.messages.create(to="+393330000002", from_=SENDER, body="hi").sid.startswith("SM")
    assert fake.stats["rejected_400"] == 2 and fake.requests_count == 3


def test_rate_limiting_raises_429_with_code_20429_and_asks_to_retry_after_a_second(fake: FakeTwilio, twilio: Client) -> None:
    """429 / 20429 through the client; on the wire it carries ``Retry-After: 1``."""
    fake.rate_limit_rate = 1.0
    with pytest.raises(TwilioRestException) as caught:
        twilio.messages.create(to="+393331234567", from_=SENDER, body="hi")
    assert (caught.value.status, caught.value.code) == (429, 20429)
    # TwilioRestException carries no headers; Client.request returns the raw response.
    raw = twilio.request(
        "POST",
        "{}/2010-04-01/Accounts/{}/Messages.json".format(fake.base_url, ACCOUNT_SID),
        data={"To": "+393331234567", "From": SENDER, "Body": "hi"},
    )
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "1"
    assert json.loads(raw.text) == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    assert fake.messages == [] and fake.stats["rejected_429"] == 2


def test_fail_next_gives_exactly_one_500_then_success(fake: FakeTwilio, twilio: Client) -> None:
    """The queued failure comes first, then the same call goes through."""
    fake.fail_next(1)
    with pytest.raises(TwilioRestException) as caught:
        twilio.messages.create(to="+393331234567", from_=SENDER, body="hi")
    assert (caught.value.status, caught.value.code) == (500, 20500)
    assert fake.messages == []
    msg = twilio.messages.create(to="+393331234567", from_=SENDER, body="hi")
    assert [m["sid"] for m in fake.messages] == [msg.sid]
    assert fake.requests_count == 2 and fake.stats["rejected_500"] == 1


def test_fail_next_can_answer_other_statuses(fake: FakeTwilio, twilio: Client) -> None:
    """fail_next(n, status=...) queues n answers of that status, in order."""
    fake.fail_next(1, status=503)
    fake.fail_next(1, status=429)
    statuses = []
    for _ in range(3):
        try:
            twilio.messages.create(to="+393331234567", from_=SENDER, body="hi")
            statuses.append(201)
        except TwilioRestException as error:
            statuses.append((error.status, error.code))
    assert statuses == [(503, 20503), (429, 20429), 201]


def test_the_same_seed_injects_the_same_faults() -> None:
    """Random 500s and 429s are drawn from a seeded RNG: a run can be repeated."""

    def outcomes(seed: int) -> list[int]:
        with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, fail_rate=0.3, rate_limit_rate=0.3, seed=seed) as server:
            client = make_client(server.base_url, ACCOUNT_SID, AUTH_TOKEN)
            seen = []
            for _ in range(30):
                try:
                    client.messages.create(to="+393331234567", from_=SENDER, body="hi")
                    seen.append(201)
                except TwilioRestException as error:
                    seen.append(error.status)
            client.http_client.session.close()
            return seen

    first = outcomes(7)
    assert first == outcomes(7)
    assert {201, 429, 500} <= set(first)


def test_wrong_credentials_get_401_and_code_20003(fake: FakeTwilio) -> None:
    """A wrong auth token is refused before anything else, and nothing is recorded."""
    client = make_client(fake.base_url, ACCOUNT_SID, "not-the-token")
    try:
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to="+393331234567", from_=SENDER, body="hi")
        assert (caught.value.status, caught.value.code) == (401, 20003)
        # A list page that fails is a bare TwilioException("Unable to fetch page", Response).
        with pytest.raises(TwilioException) as listing:
            client.messages.list()
        assert not isinstance(listing.value, TwilioRestException)
        assert listing.value.args[1].status_code == 401
        assert json.loads(listing.value.args[1].text)["code"] == 20003
    finally:
        client.http_client.session.close()
    assert fake.messages == [] and fake.stats["rejected_401"] == 1


def test_an_unknown_path_is_a_twilio_format_404(fake: FakeTwilio, twilio: Client) -> None:
    """Anything the fake does not speak answers like Twilio's own 404."""
    raw = twilio.request("GET", "{}/2010-04-01/Accounts/{}/Calls.json".format(fake.base_url, ACCOUNT_SID))
    assert raw.status_code == 404
    body = json.loads(raw.text)
    assert (body["code"], body["status"]) == (20404, 404)
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20404"


def test_listing_filters_by_recipient_and_day_across_pages(fake: FakeTwilio, twilio: Client) -> None:
    """list(to=, date_sent_after=) follows next_page_uri and returns only matches, newest first."""
    target, other = "+393331111111", "+393332222222"
    day1 = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
    day2 = datetime(2025, 3, 2, 9, 0, tzinfo=timezone.utc)
    ticks = iter(range(100))
    fake.clock = lambda: day1 + timedelta(seconds=next(ticks))
    for i in range(3):
        twilio.messages.create(to=target, from_=SENDER, body="old {}".format(i))
    fake.clock = lambda: day2 + timedelta(seconds=next(ticks))
    wanted = []
    for i in range(5):
        wanted.append(twilio.messages.create(to=target, from_=SENDER, body="new {}".format(i)).sid)
        twilio.messages.create(to=other, from_=SENDER, body="someone else {}".format(i))

    found = twilio.messages.list(to=target, date_sent_after=datetime(2025, 3, 2, 8, 0, tzinfo=timezone.utc), page_size=2)

    assert [m.sid for m in found] == wanted[::-1]
    assert fake.stats["list_pages"] == 3  # 2 + 2 + 1, through next_page_uri
    assert all(m.date_sent == m.date_created and m.date_created.date() == day2.date() for m in found)
    # Twilio documents DateSent as a date only; the fake ignores the time of day too.
    late = twilio.messages.list(to=target, date_sent_after=datetime(2025, 3, 2, 23, 0, tzinfo=timezone.utc))
    assert len(late) == 5
    assert len(twilio.messages.list(to=target, date_sent_before=datetime(2025, 3, 1, tzinfo=timezone.utc))) == 3
    assert len(twilio.messages.list(date_sent=datetime(2025, 3, 2, tzinfo=timezone.utc))) == 10
    assert len(twilio.messages.list(from_=SENDER)) == 13


def test_a_page_carries_twilio_s_envelope(fake: FakeTwilio, twilio: Client) -> None:
    """page() sees next_page_uri on the fake's host, and none on the last page."""
    for i in range(3):
        twilio.messages.create(to="+393331111111", from_=SENDER, body=str(i))
    first = twilio.messages.page(to="+393331111111", page_size=2)
    assert first.next_page_url.startswith(fake.base_url + "/2010-04-01/Accounts/{}/Messages.json?".format(ACCOUNT_SID))
    assert "PageToken=PASM" in first.next_page_url
    second = first.next_page()
    assert [m.body for m in second] == ["0"] and second.next_page_url is None
    assert second.previous_page_url is not None
    assert [m.body for m in second.previous_page()] == ["2", "1"]


def test_a_dropped_connection_raises_but_the_message_was_taken(fake: FakeTwilio, twilio: Client) -> None:
    """Accepted then unanswered: requests' ConnectionError, yet list(to=) finds it."""
    fake.crash_after_accepting_next(1)
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        twilio.messages.create(to="+393339999999", from_=SENDER, body="did it go?")
    error = caught.value
    assert not isinstance(error, TwilioException)
    assert not isinstance(error, requests.exceptions.Timeout)
    assert "RemoteDisconnected" in repr(error)  # ProtocolError('Connection aborted.', RemoteDisconnected(...))
    [taken] = twilio.messages.list(to="+393339999999")
    assert taken.body == "did it go?" and taken.sid == fake.messages[0]["sid"]
    assert fake.stats["dropped"] == 1 and fake.stats["accepted"] == 1
    # Only the next one was dropped; the same client carries on.
    assert twilio.messages.create(to="+393339999999", from_=SENDER, body="again").status == "queued"


def test_make_client_reaches_the_fake_with_twilio_edge_and_region_set(
    fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TWILIO_EDGE/TWILIO_REGION would rewrite any host; make_client turns them off."""
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    naive = Client(ACCOUNT_SID, AUTH_TOKEN)
    assert naive.get_hostname(fake.base_url + "/x") != fake.base_url + "/x"  # why make_client clears them

    client = make_client(fake.base_url, ACCOUNT_SID, AUTH_TOKEN)
    try:
        msg = client.messages.create(to="+393331234567", from_=SENDER, body="hi")
        assert [m.sid for m in client.messages.list(to="+393331234567", page_size=1)] == [msg.sid]
    finally:
        client.http_client.session.close()
    assert fake.messages[0]["sid"] == msg.sid


def test_latency_delays_every_answer(fake: FakeTwilio, twilio: Client) -> None:
    """latency seconds pass before the fake answers."""
    fake.latency = 0.2
    started = time.perf_counter()
    twilio.messages.create(to="+393331234567", from_=SENDER, body="hi")
    assert time.perf_counter() - started >= 0.2


def test_concurrent_sends_are_all_recorded_once(fake: FakeTwilio) -> None:
    """Eight threads, each with its own client, 25 sends each: 200 distinct messages."""
    sids: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        client = make_client(fake.base_url, ACCOUNT_SID, AUTH_TOKEN)
        try:
            for i in range(25):
                sid = client.messages.create(to="+3933300{:05d}".format(n * 100 + i), from_=SENDER, body="x").sid
                with lock:
                    sids.append(sid)
        finally:
            client.http_client.session.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(sids)) == 200
    assert sorted(m["sid"] for m in fake.messages) == sorted(sids)
    assert fake.requests_count == 200


def test_reset_forgets_messages_counters_and_faults(fake: FakeTwilio, twilio: Client) -> None:
    """reset() gives back a fresh fake, configured as constructed."""
    twilio.messages.create(to="+393331234567", from_=SENDER, body="hi")
    fake.fail_next(3)
    fake.crash_after_accepting_next(2)
    fake.errors_for["+393331234567"] = 21610
    fake.latency = 5
    fake.reset()
    assert fake.messages == [] and fake.requests_count == 0 and fake.errors_for == {} and fake.latency == 0
    twilio.messages.create(to="+393331234567", from_=SENDER, body="hi")
    assert len(fake.messages) == 1


def test_stop_closes_connections_a_client_still_holds() -> None:
    """A pooled keep-alive connection does not keep the fake's threads alive."""
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    client = make_client(server.base_url, ACCOUNT_SID, AUTH_TOKEN)
    try:
        client.messages.create(to="+393331234567", from_=SENDER, body="hi")
        assert _fake_threads()  # the server thread and the connection's handler
        started = time.perf_counter()
        server.stop()
        assert time.perf_counter() - started < 2
        assert _fake_threads() == []
        server.stop()  # idempotent
    finally:
        client.http_client.session.close()


def test_the_server_runs_as_its_own_process_for_the_benchmark() -> None:
    """--port 0 prints the URL, serves the client and /_fake/*, and SIGTERM exits 0."""
    command = [
        sys.executable,
        str(SERVER_SCRIPT),
        "--port", "0",
        "--latency", "0",
        "--fail-rate", "0",
        "--rate-limit-rate", "0",
        "--account-sid", ACCOUNT_SID,
        "--auth-token", AUTH_TOKEN,
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            assert line.startswith("listening http://127.0.0.1:"), (line, proc.stderr.read() if proc.stderr else "")
            base_url = line.split()[1]
            client = make_client(base_url, ACCOUNT_SID, AUTH_TOKEN)
            try:
                msg = client.messages.create(to="+393331234567", from_=SENDER, body="bench")
                accepted = json.loads(client.request("GET", base_url + "/_fake/messages").text)
                stats = json.loads(client.request("GET", base_url + "/_fake/stats").text)
            finally:
                client.http_client.session.close()
            assert [(m["sid"], m["to"], m["body"]) for m in accepted] == [(msg.sid, "+393331234567", "bench")]
            assert datetime.fromisoformat(accepted[0]["date_created"]) == msg.date_created
            assert stats["accepted"] == 1 and stats["rejected_500"] == 0
            assert stats["rejected_429"] == 0 and stats["dropped"] == 0
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert proc.stderr is not None and proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
