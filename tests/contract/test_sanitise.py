"""The sanitiser: secrets and PII become stable placeholders; ids and structure survive."""

from __future__ import annotations

import json
import re

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


# --- personal data in the field shapes of Fiskil's payee, transaction and identity pages (docs/sources.md) ---
# Every value below that a person could be identified by; none may survive in a stored recording.
PII = {
    "payee_nickname": "Alexis",
    "payee_description": "Pay Alexis Citizen for rent",
    "payid_phone": "+61412345678",
    "payid_name": "Alexis Citizen",
    "wallet_phone": "0412 345 679",
    "wallet_name": "Sam Walleter",
    "beneficiary": "Morgan Beneficiary",
    "beneficiary_message": "school fees for Riley",
    "bank_account": "987654321",
    "bsb": "062-001",
    "card": "4111 1111 1111 1111",
    "payer": "Jordan Payer",
    "payee": "Casey Payee",
    "tx_description": "TRANSFER TO Casey Payee 0400 111 222",
    "tx_reference": "Rent from Jordan",
    "extended_description": "Birthday money, love Nan",
    "first_name": "Taylor",
    "last_name": "Smithers",
    "middle_1": "Quinn",
    "middle_2": "Avery",
    "id_phone_number": "98765432",
    "id_full_number": "+61298765432",
    "id_email": "taylor.smithers@example.net",
    "dob": "1984-07-21",
    "street": "17 Wattle Grove",
    "locality": "Bellbird Park",
    "end_user_phone": "+61411222333",
    "free_text_email": "ping me at taylor.s@mail.example.org please",
    "free_text_phone": "or ring (02) 9876 5432",
}
PUBLIC = ("Smith St Bakery", "Eastpac Bank", "Sandbox Bank", "end_user_not_found", "PAYPAL_AU", "bank_tx_1",
          "bank_payee_1", "eu_123", "TELEPHONE")


def pii_exchanges() -> list[dict]:
    payees = {"payees": [
        {"fiskil_id": "bank_payee_1", "nickname": PII["payee_nickname"], "description": PII["payee_description"],
         "type": "DOMESTIC",
         "domestic": {"payee_account_u_type": "payId",
                      "pay_id": {"identifier": PII["payid_phone"], "name": PII["payid_name"], "type": "TELEPHONE"},
                      "account": {"account_name": PII["payid_name"], "account_number": PII["bank_account"], "bsb": PII["bsb"]},
                      "card": {"card_number": PII["card"]}},
         "digital_wallet": {"identifier": PII["wallet_phone"], "name": PII["wallet_name"], "provider": "PAYPAL_AU",
                            "type": "TELEPHONE"},
         "international": {"beneficiary_details": {"name": PII["beneficiary"], "country": "NZ",
                                                   "message": PII["beneficiary_message"]},
                           "bank_details": {"country": "NZ", "account_number": PII["bank_account"],
                                            "bank_address": {"name": "Eastpac Bank", "address": PII["street"]}}}},
    ], "links": {}}
    transactions = {"transactions": [
        {"fiskil_id": "bank_tx_1", "account_id": "a1", "amount": "-10.00", "status": "POSTED",
         "description": PII["tx_description"], "reference": PII["tx_reference"], "merchant_name": "Smith St Bakery",
         "extended_data": {"extension_u_type": "x2p101Payload", "payer": PII["payer"], "payee": PII["payee"],
                           "service": "X2P1.01",
                           "x2p101_payload": {"end_to_end_id": "e2e-1", "extended_description": PII["extended_description"]}}},
    ], "links": {}}
    identity = {"identities": [{
        "customer_u_type": "person",
        "person": {"first_name": PII["first_name"], "last_name": PII["last_name"],
                   "middle_names": [PII["middle_1"], PII["middle_2"]], "date_of_birth": PII["dob"],
                   "phone_numbers": [{"purpose": "HOME", "number": PII["id_phone_number"], "full_number": PII["id_full_number"],
                                      "is_preferred": True}],
                   "email_addresses": [{"purpose": "WORK", "address": PII["id_email"]}],
                   "physical_addresses": [{"address_u_type": "simple",
                                           "simple": {"address_line1": PII["street"], "city": PII["locality"],
                                                      "postcode": "4300", "country": "AUS"}}],
                   "note": f"{PII['free_text_email']} {PII['free_text_phone']}"}}]}

    def get(path: str, body: object, status: int = 200) -> dict:
        return {"request": {"method": "GET", "path": path, "query": {"end_user_id": ["eu_123"]}, "headers": {}, "body": None},
                "response": {"status": status, "headers": {"content-type": "application/json"}, "body": body}}

    created = {"request": {"method": "POST", "path": "/v1/end-users", "query": {}, "headers": {},
                           "body": {"email": PII["id_email"], "name": f"{PII['first_name']} {PII['last_name']}",
                                    "phone": PII["end_user_phone"]}},
               "response": {"status": 200, "headers": {}, "body": {"end_user_id": "eu_123"}}}
    return [
        {"seq": 1, **created},
        {"seq": 2, **get("/v1/banking/payees", payees)},
        {"seq": 3, **get("/v1/banking/transactions", transactions)},
        {"seq": 4, **get("/v1/common/identity", identity)},
        {"seq": 5, **get("/v1/institutions", [{"id": "88888", "name": "Sandbox Bank", "industry": "banking"}])},
        {"seq": 6, **get("/v1/end-users/nobody", {"id": "e", "name": "end_user_not_found", "message": "end user not found"}, 404)},
    ]


def test_no_personal_value_survives_in_any_stored_file(tmp_path) -> None:
    from harness.contract.recording import write_recordings

    files = write_recordings(tmp_path, pii_exchanges(), Sanitiser())
    stored = "\n".join(path.read_text() for path in files)
    leaked = [key for key, value in PII.items() if value in stored]
    assert not leaked, f"personal data survived: {leaked}"
    for part in ("Alexis", "Smithers", "Quinn", "Riley", "Nan", "0412 345 679", "9876 5432", "Wattle"):
        assert part not in stored, f"{part!r} survived"
    for kept in PUBLIC:
        assert kept in stored, f"{kept!r} is not personal data and must be kept"


def test_whole_values_are_replaced_with_type_preserving_placeholders() -> None:
    sanitiser = Sanitiser()
    identity = sanitiser.sanitise_exchange(pii_exchanges()[3])["response"]["body"]["identities"][0]["person"]
    assert isinstance(identity["middle_names"], list) and len(identity["middle_names"]) == 2
    assert all(isinstance(name, str) and name.startswith("Person ") for name in identity["middle_names"])
    assert identity["phone_numbers"][0]["is_preferred"] is True and identity["phone_numbers"][0]["purpose"] == "HOME"
    assert identity["physical_addresses"][0]["address_u_type"] == "simple"
    assert identity["date_of_birth"] != PII["dob"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", identity["date_of_birth"])
    number = sanitiser.sanitise_exchange({"request": {"method": "GET", "path": "/v1/x", "query": {}, "headers": {}, "body": None},
                                          "response": {"status": 200, "headers": {}, "body": {"phone": 61412345678, "abn": None}}})
    body = number["response"]["body"]
    assert isinstance(body["phone"], int) and body["phone"] != 61412345678 and body["abn"] is None


def test_names_are_never_replaced_inside_unrelated_strings() -> None:
    sanitiser = Sanitiser()
    exchange = {"request": {"method": "GET", "path": "/v1/banking/transactions", "query": {}, "headers": {}, "body": None},
                "response": {"status": 200, "headers": {}, "body": {"last_name": "Smith", "merchant_name": "Smith St Cafe",
                                                                  "bank_address": {"name": "Commonwealth Bank"}}}}
    body = sanitiser.sanitise_exchange(exchange)["response"]["body"]
    assert body["last_name"].startswith("Person ")
    assert body["merchant_name"] == "Smith St Cafe"
    assert body["bank_address"]["name"] == "Commonwealth Bank"


def test_phone_patterns_in_free_text_and_ids_left_alone() -> None:
    sanitiser = Sanitiser()
    text = sanitiser.sanitise_text("call +61 412 345 678, 0412345678 or (03) 9123 4567; id bank_tx_0412345678 /v1/end-users/0412345678")
    for phone in ("+61 412 345 678", "0412345678 or", "(03) 9123 4567"):
        assert phone not in text
    assert "bank_tx_0412345678" in text and "/v1/end-users/0412345678" in text
    # a second pass over sanitised text changes nothing (placeholders are stable)
    assert sanitiser.sanitise_text(text) == text
