"""Shape comparison: each kind of planted difference is found, with its severity, and nothing else."""

from __future__ import annotations

import copy

from harness.contract.drift import ADDITIVE, BREAKING, compare_exchange, format_table, is_breaking, shape_of

TX = {"fiskil_id": "bank_tx_1", "account_id": "a1", "amount": "-1.00", "status": "POSTED", "description": "x",
      "category": {"primary_category": "FOOD"}}
FAKE = {"status": 200, "headers": {"content-type": "application/json"}, "body": {"transactions": [TX, dict(TX, fiskil_id="bank_tx_2")], "links": {}}}
PATH = "/v1/banking/transactions"


def compare(recorded: dict) -> list:
    return compare_exchange(3, "GET", PATH + "?end_user_id=eu", recorded, FAKE)


def planted(change) -> dict:
    recorded = copy.deepcopy(FAKE)
    change(recorded)
    return recorded


def kinds(findings) -> list[tuple[str, str, str]]:
    return [(f.kind, f.where, f.severity) for f in findings]


def test_identical_structure_with_different_values_is_no_drift() -> None:
    recorded = planted(lambda r: r["body"]["transactions"][0].update(amount="99.99", description="other"))
    recorded["body"]["transactions"].append(dict(TX, fiskil_id="bank_tx_3"))
    assert compare(recorded) == []


def test_removed_field_is_breaking() -> None:
    recorded = planted(lambda r: [t.pop("description") for t in r["body"]["transactions"]])
    assert kinds(compare(recorded)) == [("field_removed", "transactions[].description", BREAKING)]


def test_removed_object_is_reported_once_at_its_top() -> None:
    recorded = planted(lambda r: [t.pop("category") for t in r["body"]["transactions"]])
    assert kinds(compare(recorded)) == [("field_removed", "transactions[].category", BREAKING)]


def test_added_field_is_additive() -> None:
    recorded = planted(lambda r: r["body"]["transactions"][1].update(new_field={"a": 1}))
    findings = compare(recorded)
    assert kinds(findings) == [("field_added", "transactions[].new_field", ADDITIVE)]
    assert not is_breaking(findings)


def test_retyped_field_is_breaking() -> None:
    recorded = planted(lambda r: [t.update(amount=-1.0) for t in r["body"]["transactions"]])
    assert kinds(compare(recorded)) == [("type_changed", "transactions[].amount", BREAKING)]


def test_a_type_differing_in_one_item_is_a_retyping() -> None:
    recorded = planted(lambda r: r["body"]["transactions"][1].update(amount=-1.0))
    findings = compare(recorded)
    assert kinds(findings) == [("type_changed", "transactions[].amount", BREAKING)]
    assert (findings[0].recorded, findings[0].fake) == ("number|string", "string")


def test_null_for_a_required_field_is_breaking() -> None:
    recorded = planted(lambda r: r["body"]["transactions"][0].update(amount=None))
    findings = compare(recorded)
    assert kinds(findings) == [("type_changed", "transactions[].amount", BREAKING)]
    assert findings[0].recorded == "null|string"
    session = {"status": 200, "headers": {}, "body": {"auth_url": "u", "expires_at": 1, "id": "i", "session_id": "s"}}
    nulled = {"status": 200, "headers": {}, "body": {"auth_url": "u", "expires_at": 1, "id": "i", "session_id": None}}
    assert kinds(compare_exchange(1, "POST", "/v1/auth/session", nulled, session)) == [("type_changed", "session_id", BREAKING)]


def test_null_for_an_optional_field_the_fake_never_nulls_is_a_warning() -> None:
    nulled = planted(lambda r: r["body"]["transactions"][0].update(category=None))
    assert kinds(compare(nulled)) == [("type_changed", "transactions[].category", ADDITIVE)]
    fake_nulls_too = copy.deepcopy(FAKE)
    fake_nulls_too["body"]["transactions"][1]["category"] = None
    assert compare_exchange(1, "GET", PATH, nulled, fake_nulls_too) == []


def test_repeated_findings_collapse_into_one_counted_row() -> None:
    from harness.contract.drift import collapse

    recorded = planted(lambda r: [t.update(amount=-1.0) for t in r["body"]["transactions"]])
    findings = compare(recorded) + compare_exchange(7, "GET", PATH, recorded, FAKE)
    [collapsed] = collapse(findings)
    assert (collapsed.seq, collapsed.count) == (3, 2)
    assert "3 (x2)" in format_table([collapsed])


def test_new_enum_value_is_additive() -> None:
    recorded = planted(lambda r: r["body"]["transactions"][0].update(status="SETTLED"))
    findings = compare(recorded)
    assert kinds(findings) == [("enum_value_added", "transactions[].status", ADDITIVE)]
    assert findings[0].recorded == "SETTLED"


def test_different_status_is_breaking_and_stops_body_comparison() -> None:
    recorded = planted(lambda r: r.update(status=404, body={"id": "e", "name": "NotFound", "message": "m"}))
    assert kinds(compare(recorded)) == [("status", "", BREAKING)]


def test_different_error_name_is_breaking() -> None:
    fake = {"status": 400, "headers": {}, "body": {"id": "e1", "name": "InvalidRequest", "message": "a"}}
    recorded = {"status": 400, "headers": {}, "body": {"id": "e2", "name": "BadRequest", "message": "b"}}
    findings = compare_exchange(1, "GET", PATH, recorded, fake)
    assert kinds(findings) == [("error_name", "name", BREAKING)]
    assert (findings[0].recorded, findings[0].fake) == ("BadRequest", "InvalidRequest")


def test_headers_that_matter() -> None:
    recorded = planted(lambda r: r["headers"].update({"content-type": "text/plain", "Retry-After": "3"}))
    assert kinds(compare(recorded)) == [("content_type", "content-type", BREAKING), ("header_added", "retry-after", ADDITIVE)]
    charset = planted(lambda r: r["headers"].update({"content-type": "application/json; charset=UTF-8"}))
    assert compare(charset) == []


def test_empty_list_says_nothing_about_item_shape() -> None:
    recorded = planted(lambda r: r["body"].update(transactions=[]))
    assert compare(recorded) == []


def test_shape_merges_list_items() -> None:
    shape = shape_of({"a": [{"x": 1}, {"y": "s"}]})
    assert shape.types["a[].x"] == {"number"} and shape.types["a[].y"] == {"string"}
    assert "a" in shape.nonempty_arrays


def test_table_lists_breaking_first_and_counts() -> None:
    recorded = planted(lambda r: [t.update(amount=1, extra=True) for t in r["body"]["transactions"]])
    table = format_table(compare(recorded))
    lines = table.splitlines()
    assert lines[2].startswith("BREAKING") and "type_changed" in lines[2]
    assert "ADDITIVE" in lines[3] and lines[-1] == "1 breaking, 1 additive"


def test_a_field_the_fake_itself_sometimes_omits_is_optional_not_removed() -> None:
    fake = {"status": 200, "headers": {}, "body": {"payees": [{"fiskil_id": "p1", "domestic": {"bsb": "1"}}, {"fiskil_id": "p2", "biller": {"crn": "2"}}], "links": {}}}
    recorded = {"status": 200, "headers": {}, "body": {"payees": [{"fiskil_id": "p9", "domestic": {"bsb": "9"}}], "links": {}}}
    assert compare_exchange(1, "GET", "/v1/banking/payees", recorded, fake) == []
    recorded["body"]["payees"][0].pop("fiskil_id")
    assert kinds(compare_exchange(1, "GET", "/v1/banking/payees", recorded, fake)) == [("field_removed", "payees[].fiskil_id", BREAKING)]
