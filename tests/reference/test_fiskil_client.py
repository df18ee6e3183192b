"""The Fiskil client: token caching and renewal, retries with backoff, bad credentials, safe logs."""

from __future__ import annotations

import threading
import time
from email.utils import format_datetime
from datetime import datetime, timezone

import httpx
import pytest

from examples.reference_integration.config import ConfigurationError
from examples.reference_integration.fiskil_client import FiskilClient, FiskilError, FiskilUnavailable
from examples.reference_integration.retry import BackoffPolicy, parse_retry_after
from examples.reference_integration.token_cache import IssuedToken, TokenCache
from tests.reference.stand_in import CLIENT_SECRET, Scripted


@pytest.fixture
def client(make_settings):
    made = FiskilClient(make_settings())
    made.backoff.sleep = lambda s: None
    yield made
    made.close()


def test_token_is_cached_across_calls(client, fiskil):
    for _ in range(3):
        client.get_json("/v1/consent", {"end_user_id": "x"})
    assert fiskil.count("/v1/token") == 1


def test_401_renews_once_and_retries(client, fiskil):
    client.get_json("/v1/consent", {"end_user_id": "x"})
    fiskil.expire_tokens()
    assert client.get_json("/v1/consent", {"end_user_id": "x"}) == []
    assert fiskil.count("/v1/token") == 2
    assert fiskil.count("/v1/consent") == 3


def test_second_401_is_not_retried_again(client, fiskil):
    fiskil.script.append(Scripted("/v1/consent", 401, times=5))
    with pytest.raises(FiskilError) as failure:
        client.get_json("/v1/consent", {"end_user_id": "x"})
    assert failure.value.status == 401
    assert fiskil.count("/v1/consent") == 2          # the call and one retry with a new token
    assert fiskil.count("/v1/token") == 2


def test_concurrent_401s_share_one_renewal(client, fiskil):
    client.get_json("/v1/consent", {"end_user_id": "x"})
    fiskil.expire_tokens()
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            start.wait(timeout=5)
            client.get_json("/v1/consent", {"end_user_id": "x"})
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert fiskil.count("/v1/token") == 2           # the first token and exactly one renewal


def test_token_renewed_before_expiry_with_safety_margin():
    now = [1000.0]
    issued: list[int] = []

    def fetch() -> IssuedToken:
        issued.append(1)
        return IssuedToken(f"t{len(issued)}", 900)

    cache = TokenCache(fetch, clock=lambda: now[0], margin=30)
    assert cache.current().value == "t1"
    now[0] += 869
    assert cache.current().value == "t1"
    now[0] += 2                                     # inside the 30 s margin
    assert cache.current().value == "t2"


def test_stale_rejection_does_not_renew_again():
    issued: list[int] = []
    cache = TokenCache(lambda: (issued.append(1), IssuedToken(f"t{len(issued)}", 900))[1])
    seen = cache.current()
    cache.renew_after_rejection(seen)
    cache.renew_after_rejection(seen)               # a second thread that saw the same failed token
    assert len(issued) == 2


def test_bad_credentials_raise_configuration_error_after_one_attempt(make_settings, fiskil, caplog):
    caplog.set_level("DEBUG")
    settings = make_settings(client_secret="wrong-secret-value-123")
    client = FiskilClient(settings)
    try:
        with pytest.raises(ConfigurationError) as failure:
            client.get_json("/v1/consent", {"end_user_id": "x"})
    finally:
        client.close()
    assert "FISKIL_CLIENT_SECRET" in str(failure.value)
    assert "wrong-secret-value-123" not in str(failure.value)
    assert "wrong-secret-value-123" not in caplog.text
    assert fiskil.count("/v1/token") == 1


def test_429_waits_at_least_retry_after(client, fiskil):
    waits: list[float] = []
    client.backoff.sleep = waits.append
    fiskil.script.append(Scripted("/v1/consent", 429, headers={"Retry-After": "2"}))
    assert client.get_json("/v1/consent", {"end_user_id": "x"}) == []
    assert len(waits) == 1 and waits[0] >= 2.0


def test_5xx_retried_then_given_up(client, fiskil):
    waits: list[float] = []
    client.backoff.sleep = waits.append
    fiskil.script.append(Scripted("/v1/consent", 503, times=10))
    with pytest.raises(FiskilError) as failure:
        client.get_json("/v1/consent", {"end_user_id": "x"})
    assert failure.value.status == 503
    assert fiskil.count("/v1/consent") == 1 + client.backoff.max_retries
    assert len(waits) == client.backoff.max_retries


def test_transport_errors_including_read_timeout_are_retried(make_settings):
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/token":
            return httpx.Response(200, json={"token": "tok-abcdefgh", "expires_in": 900})
        attempts.append(request.url.path)
        if len(attempts) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if len(attempts) == 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=[])

    settings = make_settings()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = FiskilClient(settings, http=http)
    client.backoff.sleep = lambda s: None
    assert client.get_json("/v1/consent", {"end_user_id": "x"}) == []
    assert len(attempts) == 3


def test_unreachable_fiskil_gives_up_after_bounded_attempts(make_settings):
    count = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        count[0] += 1
        raise httpx.ConnectError("refused", request=request)

    client = FiskilClient(make_settings(max_retries=2), http=httpx.Client(transport=httpx.MockTransport(handler)))
    client.backoff.sleep = lambda s: None
    with pytest.raises(FiskilUnavailable):
        client.get_json("/v1/consent")
    assert count[0] == 3


def test_backoff_is_exponential_equal_jitter_with_retry_after_floor():
    high = BackoffPolicy(base=0.1, cap=1.0, rand=lambda lo, hi: hi)
    assert [high.delay(n) for n in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    low = BackoffPolicy(base=0.1, cap=1.0, rand=lambda lo, hi: lo)
    assert [low.delay(n) for n in range(5)] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5])   # never less than half
    assert low.delay(0, retry_after=3) == 3
    assert BackoffPolicy(base=0.1, immediate=True).delay(3) == 0.0


def test_parse_retry_after_seconds_and_http_date():
    assert parse_retry_after("5") == 5
    moment = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(moment, usegmt=True), now=lambda: moment.timestamp() - 7) == 7
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_logs_carry_method_path_status_and_error_id_but_no_secrets(client, fiskil, caplog):
    caplog.set_level("DEBUG")
    fiskil.script.append(Scripted("/v1/consent", 400, body={"id": "err_abc", "name": "bad", "message": "no"}))
    with pytest.raises(FiskilError):
        client.get_json("/v1/consent", {"end_user_id": "x"})
    assert "GET /v1/consent -> 400 bad error_id=err_abc" in caplog.text
    for token in fiskil.issued:
        assert token not in caplog.text
    assert CLIENT_SECRET not in caplog.text


def test_pages_stop_at_a_bounded_time(make_settings):
    # links.next pointing at itself forever must not hang: every page is fetched, the bound ends it
    calls = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/token":
            return httpx.Response(200, json={"token": "tok-abcdefgh", "expires_in": 900})
        calls[0] += 1
        return httpx.Response(200, json={"transactions": [], "links": {"next": str(request.url)}})

    import examples.reference_integration.fiskil_client as module
    original = module.MAX_PAGES
    module.MAX_PAGES = 5
    try:
        client = FiskilClient(make_settings(), http=httpx.Client(transport=httpx.MockTransport(handler)))
        with pytest.raises(FiskilError):
            list(client.pages("/v1/banking/transactions", "transactions", {}))
    finally:
        module.MAX_PAGES = original
    assert calls[0] == 5


def test_slow_renewal_is_not_repeated_by_waiting_threads(client, fiskil):
    # time-bounded smoke check of the lock: two threads asking for a token at once fetch once
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(client.tokens.current().value)) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert time.monotonic() - t0 < 5
    assert len(set(results)) == 1 and fiskil.count("/v1/token") == 1
