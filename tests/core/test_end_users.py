"""End users: create, duplicate email, validation, list/filter, get, update, delete."""

from __future__ import annotations

from fakes.core.errors import GOA_MEDIA_TYPE


def test_create_then_get_and_list(api):
    end_user_id = api.end_user("sam@example.com", "Sam")
    got = api.get(f"/v1/end-users/{end_user_id}")
    assert got.status_code == 200
    assert got.json() == {"id": end_user_id, "email": "sam@example.com", "name": "Sam", "phone": None}
    other = api.end_user("kim@example.com", "Kim")
    listed = api.get("/v1/end-users").json()
    assert isinstance(listed, list) and {user["id"] for user in listed} == {end_user_id, other}
    filtered = api.get("/v1/end-users", params={"email": "KIM@example.com"}).json()
    assert [user["id"] for user in filtered] == [other]


def test_duplicate_email_is_end_user_already_exists(api):
    api.end_user("dup@example.com")
    again = api.post("/v1/end-users", json={"email": "Dup@Example.com"})
    assert again.status_code == 400 and again.json()["name"] == "end_user_already_exists"
    assert again.headers["content-type"].startswith(GOA_MEDIA_TYPE)


def test_invalid_email_phone_and_types_are_400(api):
    assert api.post("/v1/end-users", json={"email": "not-an-email"}).status_code == 400
    phone = api.post("/v1/end-users", json={"phone": "0412 345 678"})
    assert phone.status_code == 400 and "E.164" in phone.json()["message"]
    assert api.post("/v1/end-users", json={"phone": "+61412345678"}).status_code == 200
    assert api.post("/v1/end-users", json={"name": 5}).status_code == 400
    assert api.post("/v1/end-users", json=["a list"]).status_code == 400


def test_unknown_end_user_is_404(api):
    response = api.get("/v1/end-users/nope")
    assert response.status_code == 404 and response.json()["name"] == "end_user_not_found"
    assert api.post("/v1/end-users/nope", json={"name": "x"}).status_code == 404
    assert api.delete("/v1/end-users/nope").status_code == 404


def test_update_is_post_and_returns_204(api):
    end_user_id = api.end_user("up@example.com")
    taken = api.end_user("taken@example.com")
    updated = api.post(f"/v1/end-users/{end_user_id}", json={"phone": "+61400000001", "name": "New"})
    assert updated.status_code == 204 and updated.content == b""
    assert api.get(f"/v1/end-users/{end_user_id}").json()["phone"] == "+61400000001"
    clash = api.post(f"/v1/end-users/{end_user_id}", json={"email": "taken@example.com"})
    assert clash.status_code == 400 and clash.json()["name"] == "end_user_already_exists"
    assert api.post(f"/v1/end-users/{taken}", json={"email": "taken@example.com"}).status_code == 204


def test_delete_revokes_consents_and_removes_user(api, linked, core):
    end_user_id = linked["end_user_id"]
    assert api.delete(f"/v1/end-users/{end_user_id}").status_code == 204
    assert api.get(f"/v1/end-users/{end_user_id}").status_code == 404
    consent = core.state.consents[linked["consent_id"]]
    assert consent.active is False
    assert core.state.events[-1]["event"] == "consent.revoked"
