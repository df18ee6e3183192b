"""Banking data generated from the seed: the same seed, end user and institution always give the
same accounts, balances, transactions, payees, direct debits and scheduled payments.

Randomness comes from `random.Random` seeded with zlib.crc32 (never `hash()`, which is salted per
process); names come from one Faker en_AU instance re-seeded under a lock. Shapes follow Fiskil's
legacy data pages (https://docs.fiskil.com/transactions, https://docs.fiskil.com/balance,
https://docs.fiskil.com/payee, https://docs.fiskil.com/direct-debits,
https://docs.fiskil.com/scheduled-payments): amounts are strings, ids carry Fiskil's prefixes.
"""

from __future__ import annotations

import random
import threading
import zlib
from datetime import datetime, timezone
from typing import Any

from faker import Faker

from fakes.core import assumptions as A

_faker_lock = threading.Lock()
_faker: Faker | None = None

DAY = 86_400.0
HISTORY_DAYS = 365
PENDING_SHARE = 0.03

# (primary, secondary, typical signed amount range, transaction type, merchant-like)
CATEGORIES: tuple[tuple[str, str, tuple[float, float], str], ...] = (
    ("FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", (-180.0, -8.0), "PAYMENT"),
    ("FOOD_AND_DRINK", "FOOD_AND_DRINK_RESTAURANT", (-120.0, -12.0), "PAYMENT"),
    ("TRANSPORTATION", "TRANSPORTATION_PUBLIC_TRANSIT", (-40.0, -3.0), "PAYMENT"),
    ("GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", (-300.0, -10.0), "PAYMENT"),
    ("RENT_AND_UTILITIES", "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY", (-400.0, -60.0), "DIRECT_DEBIT"),
    ("ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES", (-30.0, -10.0), "DIRECT_DEBIT"),
    ("INCOME", "INCOME_WAGES", (1800.0, 4200.0), "TRANSFER_INCOMING"),
    ("TRANSFER_OUT", "TRANSFER_OUT_ACCOUNT_TRANSFER", (-900.0, -20.0), "TRANSFER_OUTGOING"),
)
PRODUCTS = (
    ("TRANS_AND_SAVINGS_ACCOUNTS", "Everyday Account"),
    ("TRANS_AND_SAVINGS_ACCOUNTS", "Bonus Saver"),
    ("CRED_AND_CHRG_CARDS", "Low Rate Card"),
)


def seeded_rng(seed: int, *parts: object) -> random.Random:
    """A Random seeded by crc32 of the seed and the parts (stable across processes)."""
    key = ":".join([str(seed), *(str(part) for part in parts)])
    return random.Random(zlib.crc32(key.encode()))


def _faker_values(seed_value: int, count: int, kind: str) -> list[str]:
    """`count` Faker en_AU values of `kind` ("company" or "name") for a seed; thread-safe."""
    global _faker
    with _faker_lock:
        if _faker is None:
            _faker = Faker("en_AU")
        _faker.seed_instance(seed_value)
        produce = _faker.company if kind == "company" else _faker.name
        return [produce() for _ in range(count)]


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str) -> float:
    """Parse an RFC3339 date-time (or a plain YYYY-MM-DD date, as midnight UTC)."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def day_anchor(now: float) -> float:
    """Data is dated relative to the start of the (UTC) day it is generated, so a re-run on the same
    day yields identical data."""
    return now - (now % DAY)


def _fiskil_id(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.getrandbits(64):016x}"


def _money(value: float) -> str:
    return f"{value:.2f}"


def institution_accounts(seed: int, end_user_id: str, institution_id: str) -> list[dict[str, Any]]:
    """The accounts an end user holds at an institution (what the Link page offers for selection)."""
    rng = seeded_rng(seed, end_user_id, institution_id, "accounts")
    count = 2 + rng.randrange(2)
    accounts = []
    for index in range(count):
        category, product = PRODUCTS[index % len(PRODUCTS)]
        number = f"{rng.randrange(10**8, 10**9)}"
        bsb = f"{rng.randrange(10**5, 10**6)}"
        accounts.append({
            "fiskil_id": _fiskil_id(rng, A.ACCOUNT_ID_PREFIX),
            "account_id": f"{rng.getrandbits(96):024x}",
            "arrangement_id": None,  # set when a consent links it
            "institution_id": institution_id,
            "display_name": product,
            "nickname": product,
            "product_name": product,
            "product_category": category,
            "open_status": "OPEN",
            "is_owned": True,
            "account_ownership": "ONE_PARTY",
            "masked_number": f"xxxx xxxx {number[-4:]}",
            "account_number": number,
            "bsb": bsb,
            "creation_date": rfc3339(1_500_000_000 + rng.randrange(200_000_000))[:10],
        })
    return accounts


def balance_for(account: dict[str, Any], seed: int) -> dict[str, Any]:
    rng = seeded_rng(seed, account["fiskil_id"], "balance")
    is_card = account["product_category"] == "CRED_AND_CHRG_CARDS"
    current = -rng.uniform(50, 3000) if is_card else rng.uniform(100, 25000)
    limit = 5000.0 if is_card else 0.0
    return {
        "fiskil_id": _fiskil_id(rng, "bank_balance_"),
        "account_id": account["fiskil_id"],
        "arrangement_id": account["arrangement_id"],
        "institution_id": account["institution_id"],
        "currency": "AUD",
        "current_balance": _money(current),
        "available_balance": _money(current + limit if is_card else current),
        "credit_limit": _money(limit),
        "amortised_limit": _money(limit),
        "purses": [],
    }


def make_transaction(rng: random.Random, account: dict[str, Any], timestamp: float, pending: bool,
                     merchants: list[str]) -> dict[str, Any]:
    primary, secondary, (low, high), kind = CATEGORIES[rng.randrange(len(CATEGORIES))]
    merchant = merchants[rng.randrange(len(merchants))]
    amount = rng.uniform(low, high)
    description = merchant.upper() if amount < 0 else f"SALARY {merchant.upper()}"
    return {
        "fiskil_id": _fiskil_id(rng, "bank_tx_"),
        "transaction_id": f"{rng.getrandbits(96):024x}",
        "account_id": account["fiskil_id"],
        "arrangement_id": account["arrangement_id"],
        "institution_id": account["institution_id"],
        "amount": _money(amount),
        "currency": "AUD",
        "description": description,
        "reference": f"REF{rng.randrange(10**6):06d}",
        "merchant_name": merchant if amount < 0 else "",
        "merchant_category_code": f"{rng.randrange(5000, 6000)}" if amount < 0 else "",
        "biller_code": "",
        "biller_name": "",
        "crn": "",
        "apca_number": "",
        "type": kind,
        "status": "PENDING" if pending else "POSTED",
        "is_detail_available": False,
        "category": {"primary_category": primary, "secondary_category": secondary,
                     "confidence_level": "VERY_HIGH"},
        "execution_date_time": rfc3339(timestamp),
        "posting_date_time": None if pending else rfc3339(timestamp + 3600),
        "value_date_time": None if pending else rfc3339(timestamp + 3600),
    }


def transactions_for(account: dict[str, Any], seed: int, count: int, anchor: float) -> list[dict[str, Any]]:
    """`count` transactions spread over the year before `anchor`; the newest few are PENDING."""
    rng = seeded_rng(seed, account["fiskil_id"], "transactions")
    merchants = _faker_values(zlib.crc32(f"{seed}:{account['fiskil_id']}".encode()), 24, "company")
    stamps = sorted((anchor - rng.uniform(0, HISTORY_DAYS * DAY) for _ in range(count)), reverse=True)
    pending_count = int(count * PENDING_SHARE)
    return [make_transaction(rng, account, stamp, index < pending_count, merchants)
            for index, stamp in enumerate(stamps)]


def extra_transactions(account: dict[str, Any], seed: int, serial: int, count: int,
                       now: float) -> list[dict[str, Any]]:
    """New POSTED transactions dated just before `now` (control API: data changed between syncs)."""
    rng = seeded_rng(seed, account["fiskil_id"], "extra", serial)
    merchants = _faker_values(zlib.crc32(f"{seed}:{account['fiskil_id']}:{serial}".encode()), 8, "company")
    return [make_transaction(rng, account, now - rng.uniform(60, DAY), False, merchants) for _ in range(count)]


def modified(transaction: dict[str, Any], seed: int, serial: int) -> dict[str, Any]:
    """The same transaction (same fiskil_id) with a new amount and description."""
    rng = seeded_rng(seed, transaction["fiskil_id"], "modify", serial)
    amount = float(transaction["amount"]) * rng.uniform(0.5, 1.5)
    return {**transaction, "amount": _money(amount), "description": f"{transaction['description']} (ADJUSTED)"}


def payees_for(end_user_id: str, institution_id: str, arrangement_id: str, seed: int) -> list[dict[str, Any]]:
    rng = seeded_rng(seed, end_user_id, institution_id, "payees")
    names = _faker_values(zlib.crc32(f"{seed}:{end_user_id}:{institution_id}:payees".encode()), 3, "name")
    return [{
        "fiskil_id": _fiskil_id(rng, "bank_payee_"),
        "arrangement_id": arrangement_id,
        "institution_id": institution_id,
        "nickname": name.split()[0],
        "description": f"Pay {name}",
        "creation_date": rfc3339(1_600_000_000 + rng.randrange(80_000_000))[:10],
        "type": "DOMESTIC",
        "domestic": {
            "payee_account_u_type": "account",
            "account": {"account_name": name, "bsb": f"{rng.randrange(10**5, 10**6)}",
                        "account_number": f"{rng.randrange(10**7, 10**8)}"},
        },
    } for name in names]


def direct_debits_for(account: dict[str, Any], seed: int, anchor: float) -> list[dict[str, Any]]:
    rng = seeded_rng(seed, account["fiskil_id"], "direct_debits")
    companies = _faker_values(zlib.crc32(f"{seed}:{account['fiskil_id']}:dd".encode()), 2, "company")
    return [{
        "fiskil_id": _fiskil_id(rng, "bank_dd_"),
        "account_id": account["fiskil_id"],
        "arrangement_id": account["arrangement_id"],
        "institution_id": account["institution_id"],
        "authorised_entity": {"description": company, "financial_institution": "Sandbox Bank",
                              "abn": f"{rng.randrange(10**10, 10**11)}", "acn": "", "arbn": ""},
        "last_debit_amount": _money(rng.uniform(10, 300)),
        "last_debit_date_time": rfc3339(anchor - rng.uniform(1, 30) * DAY),
    } for company in companies]


def scheduled_payments_for(account: dict[str, Any], seed: int, anchor: float) -> list[dict[str, Any]]:
    rng = seeded_rng(seed, account["fiskil_id"], "scheduled")
    return [{
        "fiskil_id": _fiskil_id(rng, "bank_sp_"),
        "arrangement_id": account["arrangement_id"],
        "institution_id": account["institution_id"],
        "nickname": "Rent",
        "payer_reference": "RENT",
        "payee_reference": f"RENT{rng.randrange(1000)}",
        "status": "ACTIVE",
        "from": {"account_id": account["fiskil_id"]},
        "payment_set": [{"amount": _money(rng.uniform(300, 900)), "currency": "AUD",
                         "is_amount_calculated": False,
                         "to": {"to_utype": "payeeId", "payee_id": None, "nickname": "Landlord"}}],
        "recurrence": {"next_payment_date": rfc3339(anchor + 7 * DAY)[:10], "recurrence_u_type": "intervalSchedule",
                       "interval_schedule": {"intervals": [{"interval": "P1W", "day_in_interval": "P1D"}],
                                             "non_business_day_treatment": "AFTER"}},
    }]
