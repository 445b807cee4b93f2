"""Races with real parallel HTTP requests against the local stack.

The stack serves requests on many threads, as many Lambda containers would; only
DynamoDB's conditional writes stand between the requests.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from local.client import emulator_client
from tests.conftest import LocalStack, person
from tests.stack_client import StackClient


def _dynamodb(stack: LocalStack):  # type: ignore[no-untyped-def]
    return emulator_client("dynamodb", stack.emulator)


def test_twenty_parallel_wrong_guesses_evaluate_at_most_five(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(101)
    flow = client.call("POST", "/v1/registrations", {"email": who.email}).json()["flow_id"]
    code = client.code_for(who.email, "email")
    bad = "000000" if code != "000000" else "111111"

    def guess(_: int) -> tuple[int, dict]:
        answer = StackClient(local_stack).call("POST", f"/v1/registrations/{flow}/email/verify", {"code": bad})
        return answer.status_code, answer.json()["error"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(guess, range(20)))

    invalid = sorted(e["details"]["attempts_remaining"] for s, e in answers if e["code"] == "invalid_code")
    locked = [e for s, e in answers if e["code"] == "code_locked"]
    assert invalid == [1, 2, 3, 4]  # each remaining count was answered exactly once
    assert len(locked) == 16 and all(s == 423 for s, e in answers if e["code"] == "code_locked")
    item = _dynamodb(local_stack).get_item(
        TableName="sandi-local-flows", Key={"flow_id": {"S": flow}}, ConsistentRead=True
    )["Item"]
    assert item["ch_attempts"]["N"] == "5"  # five evaluated, fifteen refused before comparing
    right = client.call("POST", f"/v1/registrations/{flow}/email/verify", {"code": code})
    assert right.status_code == 423  # even the right code is refused now


def test_five_parallel_completions_for_one_nik_create_one_account(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    nik = "3174011705909999"
    # five: the profile step answers at most five submissions per NIK an hour
    people = [person(200 + i, nik=nik) for i in range(5)]
    flows = [client.to_password(who) for who in people]

    def complete(pair: tuple[str, object]) -> tuple[int, str | None]:
        flow, who = pair
        body = {"password": who.password, "password_confirmation": who.password}  # type: ignore[attr-defined]
        answer = StackClient(local_stack).call("POST", f"/v1/registrations/{flow}/complete", body)
        return answer.status_code, (answer.json().get("error") or {}).get("code")

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(complete, zip(flows, people, strict=False)))

    assert sorted(results, key=str) == sorted([(201, None)] + [(409, "nik_registered")] * 4, key=str)
    db = _dynamodb(local_stack)
    accounts = db.scan(TableName="sandi-local-accounts")["Items"]
    ours = [a for a in accounts if a.get("email", {}).get("S") in {p.email for p in people}]  # tombstones have none
    assert len(ours) == 1
    nik_claim = db.get_item(TableName="sandi-local-claims", Key={"claim_key": {"S": "nik#" + ours[0]["nik_hash"]["S"]}})
    assert nik_claim["Item"]["account_id"] == ours[0]["account_id"]
    # the losers' email, phone and KPJ stayed free: every claim belongs to an account
    claims = db.scan(TableName="sandi-local-claims")["Items"]
    assert {c["account_id"]["S"] for c in claims} <= {a["account_id"]["S"] for a in accounts}
    assert sum(1 for c in claims if c["account_id"] == ours[0]["account_id"]) == 4


def test_twenty_parallel_wrong_passwords_lock_once_after_five_checks(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    who = person(400)
    account_id = client.register(who)["account"]["account_id"]

    def attempt(_: int) -> tuple[int, str]:
        answer = StackClient(local_stack).call(
            "POST", "/v1/sessions", {"login": who.email, "password": "Salah-Sekali-1"}
        )
        return answer.status_code, answer.json()["error"]["code"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(attempt, range(20)))

    assert answers.count((401, "invalid_credentials")) == 4  # four checks answered "wrong"...
    assert answers.count((423, "account_locked")) == 16  # ...the fifth locked, the rest never checked
    item = _dynamodb(local_stack).get_item(
        TableName="sandi-local-accounts", Key={"account_id": {"S": account_id}}, ConsistentRead=True
    )["Item"]
    assert item["lock_count"]["N"] == "1"  # locked exactly once
    right = client.call("POST", "/v1/sessions", {"login": who.email, "password": who.password})
    assert right.status_code == 423


def test_parallel_reuse_of_one_refresh_token_revokes_the_family(local_stack: LocalStack) -> None:
    client = StackClient(local_stack)
    session = client.register(person(401))["session"]

    def refresh(_: int) -> tuple[int, dict]:
        answer = StackClient(local_stack).call(
            "POST", "/v1/sessions/refresh", {"refresh_token": session["refresh_token"]}
        )
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(refresh, range(10)))

    winners = [body for status, body in answers if status == 201]
    assert len(winners) == 1 and sum(1 for status, _ in answers if status == 401) == 9
    # the token was presented more than once: every token of the family is now void
    again = client.call("POST", "/v1/sessions/refresh", {"refresh_token": winners[0]["refresh_token"]})
    assert again.status_code == 401
    assert client.call("GET", "/v1/me", token=winners[0]["access_token"]).status_code == 401


def test_the_destination_cap_holds_under_twenty_parallel_sends(local_stack: LocalStack) -> None:
    address = "ramai@example.com"

    def start(_: int) -> int:
        return StackClient(local_stack).call("POST", "/v1/registrations", {"email": address}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(start, range(20)))

    assert statuses.count(201) == 10 and statuses.count(429) == 10
    sent = [m for m in StackClient(local_stack).messages() if m["to"] == address]
    assert len(sent) == 10


def test_identity_attempts_per_nik_hold_under_parallel_guesses(local_stack: LocalStack) -> None:
    who = person(402)
    StackClient(local_stack).register(who)
    guess = {"full_name": "Orang Lain", "nik": who.nik, "birth_date": who.birth_date}

    def attempt(_: int) -> str:
        answer = StackClient(local_stack).call("POST", "/v1/pin-resets", guess)
        return str(answer.json()["error"]["code"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(attempt, range(10)))

    assert codes.count("identity_mismatch") == 5 and codes.count("rate_limited") == 5
