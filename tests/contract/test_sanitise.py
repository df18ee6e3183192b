"""The sanitiser: secrets and PII become stable placeholders; ids and structure survive."""

from __future__ import annotations

import json

from harness.contract.sanitise import Sanitiser

SECRET = "super-secret-client-value"
TOKEN = "eyJUb2tlblVVSUQiOiJhYmMifQ.eyJLZXlJRCI6IjEyMyJ9.c2lnbmF0dXJl"


def token_exchange() -> dict:
    return {
        "seq": 1,
        "request": {"method": "POST", "path": "/v1/token", "query": {}, "headers": {"content-type": "application/json"},
                    "body": {"client_id": "team-client-77", "client_secret": SECRET}},
        "response": {"status": 200, "headers": {"content-type": "application/json"},
                     "body": {"token": TOKEN, "token_type": "Bearer", "expires_in": 900}},
    }


def end_user_exchange(email: str = "jane.citizen@example.com.au") -> dict:
    return {
        "seq": 2,
        "request": {"method": "GET", "path": "/v1/end-users", "query": {"email": [email]},
                    "headers": {"authorization": f"Bearer {TOKEN}"}, "body": None},
        "response": {"status": 200, "headers": {"content-type": "application/json"},
                     "body": [{"id": "eu_123", "email": email, "name": "Jane Citizen", "phone": "+61412345678",
                               "abn": "51 824 753 556"}]},
    }


def test_secret_token_email_name_phone_abn_are_replaced_and_ids_kept() -> None:
    sanitiser = Sanitiser()
    first = sanitiser.sanitise_exchange(token_exchange())
    second = sanitiser.sanitise_exchange(end_user_exchange())
    text = json.dumps([first, second])
    for original in (SECRET, TOKEN, "jane.citizen@example.com.au", "Jane Citizen", "+61412345678", "51 824 753 556", "team-client-77"):
        assert original not in text, f"{original[:6]}… leaked"
    user = second["response"]["body"][0]
    assert user["id"] == "eu_123"
    assert user["email"].endswith("@example.invalid")
    assert user["phone"].startswith("+614")
    assert first["response"]["body"]["expires_in"] == 900
    assert first["response"]["body"]["token_type"] == "Bearer"


def test_placeholders_are_stable_within_a_set_and_distinct_between_values() -> None:
    sanitiser = Sanitiser()
    sanitised_token = sanitiser.sanitise_exchange(token_exchange())["response"]["body"]["token"]
    a = sanitiser.sanitise_exchange(end_user_exchange())
    b = sanitiser.sanitise_exchange(end_user_exchange())
    c = sanitiser.sanitise_exchange(end_user_exchange("someone.else@example.org"))
    assert a == b
    assert a["request"]["query"]["email"] == [a["response"]["body"][0]["email"]]
    assert c["response"]["body"][0]["email"] != a["response"]["body"][0]["email"]
    # the bearer header maps to the same placeholder as the token the token endpoint returned
    assert a["request"]["headers"]["authorization"] == f"Bearer {sanitised_token}"


def test_values_inside_urls_are_replaced_also_when_percent_encoded() -> None:
    sanitiser = Sanitiser()
    sanitiser.sanitise_exchange(end_user_exchange())
    exchange = {"request": {"method": "GET", "path": "/v1/end-users", "query": {}, "headers": {}, "body": None},
                "response": {"status": 200, "headers": {}, "body": {"links": {"next": "https://x/v1/end-users?email=jane.citizen%40example.com.au"}}}}
    next_link = sanitiser.sanitise_exchange(exchange)["response"]["body"]["links"]["next"]
    assert "jane.citizen" not in next_link
    assert "example.invalid" in next_link


def test_error_and_institution_names_are_not_personal_data() -> None:
    sanitiser = Sanitiser()
    exchange = {"request": {"method": "GET", "path": "/v1/end-users/x", "query": {}, "headers": {}, "body": None},
                "response": {"status": 404, "headers": {}, "body": {"name": "end_user_not_found", "message": "end user not found", "id": "e1"}}}
    assert sanitiser.sanitise_exchange(exchange)["response"]["body"]["name"] == "end_user_not_found"
    inst = {"request": {"method": "GET", "path": "/v1/institutions", "query": {}, "headers": {}, "body": None},
            "response": {"status": 200, "headers": {}, "body": [{"id": "88888", "name": "Sandbox Bank", "industry": "banking"}]}}
    assert sanitiser.sanitise_exchange(inst)["response"]["body"][0]["name"] == "Sandbox Bank"


def test_bank_details_are_replaced() -> None:
    sanitiser = Sanitiser()
    payee = {"domestic": {"account": {"account_name": "Jane Citizen", "account_number": "12345678", "bsb": "062-000"}}}
    exchange = {"request": {"method": "GET", "path": "/v1/banking/payees", "query": {}, "headers": {}, "body": None},
                "response": {"status": 200, "headers": {}, "body": {"payees": [payee], "links": {}}}}
    text = json.dumps(sanitiser.sanitise_exchange(exchange))
    for original in ("12345678", "062-000", "Jane Citizen"):
        assert original not in text


def test_known_secrets_given_up_front_are_replaced_in_free_text() -> None:
    sanitiser = Sanitiser(extra_secrets=[SECRET])
    assert SECRET not in sanitiser.sanitise_text(f"client_secret={SECRET} and Bearer {TOKEN}")
    assert TOKEN not in sanitiser.sanitise_text(f"Authorization: Bearer {TOKEN}")
