"""Sandi API: routes only. Each view hands one call to one flow function."""

from __future__ import annotations

import gc

# Init builds only long-lived things (modules, botocore's models, clients): a collection
# during it finds nothing to free and only costs the first request its time. The
# collector stays off until warm.at_init has primed, then what init built is frozen
# (never scanned again) and the collector is on for the requests.
gc.disable()

from typing import Any

from chalice import Chalice, CognitoUserPoolAuthorizer, Rate, Response

from chalicelib import flows, logs, warm, web
from chalicelib.accounts.staff import AGENT, SUPERVISOR
from chalicelib.config import get_settings
from chalicelib.deps import get_deps
from chalicelib.http import Call, routes

app = Chalice(app_name="sandi")
logs.configure()

route = routes(app)


# --- operations ------------------------------------------------------------------


@route("/v1/health", "GET")
def health(call: Call) -> Any:
    """200 when DynamoDB answers, 503 otherwise."""
    return flows.operations.health(call.deps)


@route("/v1/openapi.json", "GET")
def openapi(call: Call) -> Any:
    """The OpenAPI 3.1 description of this API."""
    return flows.operations.openapi()


# --- registration ----------------------------------------------------------------


@route("/v1/registrations", "POST", 201)
def registration_start(call: Call) -> Any:
    """Start a registration with an email."""
    return flows.registration.start(call.deps, call.body, call.lang, call.client_ip)


@route("/v1/registrations/{flow_id}", "GET")
def registration_get(call: Call) -> Any:
    """The registration flow."""
    return flows.registration.get(call.deps, call["flow_id"])


@route("/v1/registrations/{flow_id}/email/verify", "POST")
def registration_verify_email(call: Call) -> Any:
    """Verify the emailed code."""
    return flows.registration.verify_email(call.deps, call["flow_id"], call.body)


@route("/v1/registrations/{flow_id}/email/resend", "POST")
def registration_resend_email(call: Call) -> Any:
    """Send a new email code."""
    return flows.registration.resend_email(call.deps, call["flow_id"], call.lang, call.client_ip)


@route("/v1/registrations/{flow_id}/profile", "PUT")
def registration_profile(call: Call) -> Any:
    """Membership type, name, birth date, NIK, KPJ."""
    return flows.registration.set_profile(call.deps, call["flow_id"], call.body, call.client_ip)


@route("/v1/registrations/{flow_id}/phone", "POST")
def registration_phone(call: Call) -> Any:
    """Phone number; an SMS code is sent."""
    return flows.registration.set_phone(call.deps, call["flow_id"], call.body, call.lang, call.client_ip)


@route("/v1/registrations/{flow_id}/phone/verify", "POST")
def registration_verify_phone(call: Call) -> Any:
    """Verify the SMS code."""
    return flows.registration.verify_phone(call.deps, call["flow_id"], call.body)


@route("/v1/registrations/{flow_id}/phone/resend", "POST")
def registration_resend_phone(call: Call) -> Any:
    """Send a new SMS code."""
    return flows.registration.resend_phone(call.deps, call["flow_id"], call.lang, call.client_ip)


@route("/v1/registrations/{flow_id}/complete", "POST", 201)
def registration_complete(call: Call) -> Any:
    """Password; the account is created and signed in."""
    device = call.headers.get("user-agent") or ""
    return flows.registration.complete(call.deps, call["flow_id"], call.body, device)


# --- sessions and the signed-in user ------------------------------------------------------


@route("/v1/sessions", "POST", 201)
def session_create(call: Call) -> Any:
    """Sign in with email or KPJ and a password or PIN."""
    return flows.sessions.sign_in(call.deps, call.body, call.client_ip, call.headers.get("user-agent") or "", call.lang)


@route("/v1/sessions/{flow_id}/verify", "POST", 201)
def session_second_factor(call: Call) -> Any:
    """The authenticator (or a recovery) code after a right password or PIN."""
    return flows.sessions.verify_second_factor(call.deps, call["flow_id"], call.body)


@route("/v1/sessions/passkey/options", "POST")
def session_passkey_options(call: Call) -> Any:
    """Request options for a passkey sign-in (discoverable: no login typed)."""
    return flows.passkeys.sign_in_options(call.deps)


@route("/v1/sessions/passkey", "POST", 201)
def session_passkey(call: Call) -> Any:
    """Sign in with a passkey: a session whose amr names it."""
    return flows.passkeys.sign_in(call.deps, call.body, call.client_ip, call.headers.get("user-agent") or "")


@route("/v1/sessions/refresh", "POST", 201)
def session_refresh(call: Call) -> Any:
    """Rotate the refresh token; a new access token."""
    return flows.sessions.refresh(call.deps, call.body)


@route("/v1/sessions/current", "DELETE", 204, member=True)
def session_delete(call: Call) -> Any:
    """Sign out."""
    return flows.sessions.sign_out(call.deps, call.member)


@route("/v1/me", "GET", member=True)
def me(call: Call) -> Any:
    """The signed-in account's profile."""
    return flows.sessions.me(call.deps, call.member)


@route("/v1/me/pin", "PUT", 204, member=True)
def me_pin(call: Call) -> Any:
    """Set or change the PIN."""
    return flows.sessions.set_pin(call.deps, call.member, call.body, call.lang)


@route("/v1/me/password", "PUT", 204, member=True)
def me_password(call: Call) -> Any:
    """Change the password; other sessions end."""
    return flows.sessions.change_password(call.deps, call.member, call.body, call.lang)


@route("/v1/me/phone", "POST", 201, member=True)
def me_phone(call: Call) -> Any:
    """Start a phone change: an SMS code to the new number."""
    return flows.contact_change.start(
        call.deps, flows.contact_change.PHONE, call.member, call.body, call.lang, call.client_ip
    )


@route("/v1/me/phone/{flow_id}/verify", "POST", member=True)
def me_phone_verify(call: Call) -> Any:
    """Finish a phone change with the SMS code."""
    change = flows.contact_change
    return change.verify(call.deps, change.PHONE, call.member, call["flow_id"], call.body, call.lang)


@route("/v1/me/email", "POST", 201, member=True)
def me_email(call: Call) -> Any:
    """Start an email change: a code to the new address."""
    return flows.contact_change.start(
        call.deps, flows.contact_change.EMAIL, call.member, call.body, call.lang, call.client_ip
    )


@route("/v1/me/email/{flow_id}/verify", "POST", member=True)
def me_email_verify(call: Call) -> Any:
    """Finish an email change with the emailed code."""
    change = flows.contact_change
    return change.verify(call.deps, change.EMAIL, call.member, call["flow_id"], call.body, call.lang)


# --- the authenticator app ------------------------------------------------------------------


@route("/v1/me/authenticator", "POST", 201, member=True)
def me_authenticator_enrol(call: Call) -> Any:
    """A new authenticator secret, pending until a first code verifies it."""
    return flows.authenticator.enrol(call.deps, call.member, call.body)


@route("/v1/me/authenticator/verify", "POST", member=True)
def me_authenticator_confirm(call: Call) -> Any:
    """Turn the authenticator on with a first code; recovery codes, shown once."""
    return flows.authenticator.confirm(call.deps, call.member, call.body, call.lang)


@route("/v1/me/authenticator", "DELETE", 204, member=True)
def me_authenticator_off(call: Call) -> Any:
    """Turn the authenticator off (password and a current or recovery code)."""
    return flows.authenticator.turn_off(call.deps, call.member, call.body, call.lang)


# --- passkeys -----------------------------------------------------------------------------


@route("/v1/me/passkeys/options", "POST", member=True)
def me_passkey_options(call: Call) -> Any:
    """Creation options for a new passkey (password, and the authenticator's code when on)."""
    return flows.passkeys.registration_options(call.deps, call.member, call.body, call.headers.get("user-agent") or "")


@route("/v1/me/passkeys", "POST", 201, member=True)
def me_passkey_add(call: Call) -> Any:
    """Keep the passkey the phone made for the options' flow."""
    return flows.passkeys.register(call.deps, call.member, call.body, call.lang)


@route("/v1/me/passkeys", "GET", member=True)
def me_passkeys(call: Call) -> Any:
    """The member's passkeys, newest first."""
    return flows.passkeys.list_passkeys(call.deps, call.member)


@route("/v1/me/passkeys/{passkey_id}", "PATCH", member=True)
def me_passkey_rename(call: Call) -> Any:
    """Name a passkey."""
    return flows.passkeys.rename(call.deps, call.member, call["passkey_id"], call.body)


@route("/v1/me/passkeys/{passkey_id}", "DELETE", 204, member=True)
def me_passkey_remove(call: Call) -> Any:
    """Remove a passkey (password, and the authenticator's code when on)."""
    return flows.passkeys.remove(call.deps, call.member, call["passkey_id"], call.body, call.lang)


@route("/.well-known/webauthn", "GET")
def well_known_webauthn(call: Call) -> Any:
    """The web origins this relying party accepts (WebAuthn related origins)."""
    return flows.passkeys.well_known(call.deps, "webauthn")


@route("/.well-known/assetlinks.json", "GET")
def well_known_assetlinks(call: Call) -> Any:
    """Android Digital Asset Links: the apps that may use this site's passkeys."""
    return flows.passkeys.well_known(call.deps, "assetlinks")


@route("/.well-known/apple-app-site-association", "GET")
def well_known_apple(call: Call) -> Any:
    """The iOS apps that may use this site's passkeys (webcredentials)."""
    return flows.passkeys.well_known(call.deps, "apple")


# --- devices, a copy of my data, deleting my account -------------------------------------


@route("/v1/me/sessions", "GET", member=True)
def me_sessions(call: Call) -> Any:
    """Where the member is signed in, newest first."""
    return flows.member.list_sessions(call.deps, call.member)


@route("/v1/me/sessions/{session_id}", "DELETE", 204, member=True)
def me_session_delete(call: Call) -> Any:
    """Sign one device out."""
    return flows.member.revoke_session(call.deps, call.member, call["session_id"])


@route("/v1/me/export", "POST", member=True)
def me_export(call: Call) -> Any:
    """Everything stored about the member."""
    return flows.member.export(call.deps, call.member, call.body)


@route("/v1/me", "DELETE", 204, member=True)
def me_delete(call: Call) -> Any:
    """Delete the account (password first)."""
    return flows.member.delete_account(call.deps, call.member, call.body, call.lang)


# --- forgot password --------------------------------------------------------------------


@route("/v1/password-resets", "POST", 202)
def password_reset_start(call: Call) -> Any:
    """Start a password reset for an email."""
    return flows.password_reset.start(call.deps, call.body, call.lang, call.client_ip)


@route("/v1/password-resets/{flow_id}", "GET")
def password_reset_get(call: Call) -> Any:
    """The password-reset flow."""
    return flows.password_reset.get(call.deps, call["flow_id"])


@route("/v1/password-resets/{flow_id}/verify", "POST")
def password_reset_verify(call: Call) -> Any:
    """Verify the emailed code."""
    return flows.password_reset.verify(call.deps, call["flow_id"], call.body)


@route("/v1/password-resets/{flow_id}/resend", "POST")
def password_reset_resend(call: Call) -> Any:
    """Send a new code."""
    return flows.password_reset.resend(call.deps, call["flow_id"], call.lang, call.client_ip)


@route("/v1/password-resets/{flow_id}/complete", "POST")
def password_reset_complete(call: Call) -> Any:
    """Set the new password."""
    return flows.password_reset.complete(call.deps, call["flow_id"], call.body, call.lang)


# --- forgot PIN ---------------------------------------------------------------------------


@route("/v1/pin-resets", "POST", 201)
def pin_reset_start(call: Call) -> Any:
    """Check name, NIK and birth date."""
    return flows.pin_reset.start(call.deps, call.body, call.lang, call.client_ip)


@route("/v1/pin-resets/{flow_id}", "GET")
def pin_reset_get(call: Call) -> Any:
    """The PIN-reset flow."""
    return flows.pin_reset.get(call.deps, call["flow_id"])


@route("/v1/pin-resets/{flow_id}/send", "POST")
def pin_reset_send(call: Call) -> Any:
    """Send (or resend) a code by email or SMS."""
    return flows.pin_reset.send(call.deps, call["flow_id"], call.body, call.lang, call.client_ip)


@route("/v1/pin-resets/{flow_id}/verify", "POST")
def pin_reset_verify(call: Call) -> Any:
    """Verify the code."""
    return flows.pin_reset.verify(call.deps, call["flow_id"], call.body)


@route("/v1/pin-resets/{flow_id}/complete", "POST")
def pin_reset_complete(call: Call) -> Any:
    """Set the new PIN."""
    return flows.pin_reset.complete(call.deps, call["flow_id"], call.body, call.lang)


# --- forgot email ------------------------------------------------------------------------


@route("/v1/email-recoveries", "POST", 202)
def email_recovery_start(call: Call) -> Any:
    """Text the owner of a phone number which email their account uses."""
    return flows.email_recovery.start(call.deps, call.body, call.lang, call.client_ip)


# --- SES feedback ------------------------------------------------------------------------


@app.on_sns_message(topic=get_settings().ses_feedback_topic)
def ses_feedback(event: Any) -> None:
    """SES events: bounces and complaints suppress the address; outcomes move challenges."""
    from chalicelib.challenges import feedback  # cold start: only the receipt functions load it

    feedback.handle(get_deps(), event.message)


@app.lambda_function(name="sms_receipts")
def sms_receipts(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SNS SMS delivery status logs (a CloudWatch Logs subscription): outcomes move challenges."""
    from chalicelib.challenges import feedback  # cold start: only the receipt functions load it

    outcomes = feedback.sms_logs(get_deps(), event)
    return {"receipts": len(outcomes)}


@app.lambda_function(name="outbox_sender")
def outbox_sender(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The outbox table's stream: notices and forgot-email SMS, sent after the answer."""
    from chalicelib.delivery import outbox  # cold start: only the outbox function loads it

    return outbox.handle_stream(get_deps(), event)


# --- call center -------------------------------------------------------------------------


STAFF_SCOPE = "aws.cognito.signin.user.admin"


def _staff_gate() -> Any:
    """API Gateway's Cognito authorizer for the staff pool in deployed stages (the merge
    template points it at the stack's pool); none locally, where the views' own check
    (the same one they run behind the gateway) answers 401/403."""
    if get_settings().stage == "local":
        return None
    # Access tokens (what the console holds) need a scope on the method; ID tokens do not.
    return CognitoUserPoolAuthorizer(
        "StaffPool", provider_arns=["arn:aws:cognito-idp:set-by-the-template"], scopes=[STAFF_SCOPE]
    )


STAFF_GATE = _staff_gate()


@route("/v1/admin/accounts", "GET", authorizer=STAFF_GATE, staff=AGENT)
def admin_lookup(call: Call) -> Any:
    """Accounts by exactly one of email, nik, phone, kpj."""
    return flows.admin.lookup(call.deps, call.staff_member, call.query)


@route("/v1/admin/accounts/{account_id}", "GET", authorizer=STAFF_GATE, staff=AGENT)
def admin_view(call: Call) -> Any:
    """One account with contact data and status."""
    return flows.admin.view(call.deps, call.staff_member, call["account_id"])


@route("/v1/admin/accounts/{account_id}/contact", "PATCH", 202, authorizer=STAFF_GATE, staff=AGENT)
def admin_contact(call: Call) -> Any:
    """Request a change of email and/or phone (reason, how identity was checked): applied
    only when a different supervisor approves it."""
    return flows.contact_review.request(call.deps, call.staff_member, call["account_id"], call.body)


@route("/v1/admin/contact-changes", "GET", authorizer=STAFF_GATE, staff=SUPERVISOR)
def admin_contact_changes(call: Call) -> Any:
    """Contact changes awaiting approval, oldest first."""
    return flows.contact_review.pending(call.deps, call.staff_member, call.query)


@route("/v1/admin/contact-changes/{change_id}/approve", "POST", authorizer=STAFF_GATE, staff=SUPERVISOR)
def admin_contact_approve(call: Call) -> Any:
    """Apply a requested contact change (a supervisor other than the requester)."""
    return flows.contact_review.approve(call.deps, call.staff_member, call["change_id"], call.body)


@route("/v1/admin/contact-changes/{change_id}/reject", "POST", authorizer=STAFF_GATE, staff=SUPERVISOR)
def admin_contact_reject(call: Call) -> Any:
    """Refuse a requested contact change, with a reason."""
    return flows.contact_review.reject(call.deps, call.staff_member, call["change_id"], call.body)


@route("/v1/admin/accounts/{account_id}/unlock", "POST", authorizer=STAFF_GATE, staff=AGENT)
def admin_unlock(call: Call) -> Any:
    """End a sign-in lock, with a reason."""
    return flows.admin.unlock(call.deps, call.staff_member, call["account_id"], call.body)


@route("/v1/admin/accounts/{account_id}/reset", "POST", authorizer=STAFF_GATE, staff=SUPERVISOR)
def admin_reset(call: Call) -> Any:
    """Close the account and free its email, NIK, phone and KPJ, with a reason."""
    return flows.admin.reset(call.deps, call.staff_member, call["account_id"], call.body)


@route("/v1/admin/accounts/{account_id}/authenticator/reset", "POST", authorizer=STAFF_GATE, staff=SUPERVISOR)
def admin_authenticator_reset(call: Call) -> Any:
    """Turn a member's authenticator off (lost phone), with a reason: supervisors only."""
    return flows.admin.reset_authenticator(call.deps, call.staff_member, call["account_id"], call.body)


@route("/v1/admin/accounts/{account_id}/audit", "GET", authorizer=STAFF_GATE, staff=AGENT)
def admin_audit(call: Call) -> Any:
    """The account's audit trail, newest first."""
    return flows.admin.audit_log(call.deps, call.staff_member, call["account_id"], call.query)


# --- operations: scheduled cleanup ---------------------------------------------------------


@app.schedule(Rate(get_settings().cleanup_minutes, unit=Rate.MINUTES))
def cleanup(event: Any) -> dict[str, Any]:
    """Purge expired flows, sessions and counters (TTL stays as the backstop)."""
    from chalicelib import cleanup as purge  # cold start: only the cleanup function loads it

    deps = get_deps()
    report = purge.run(deps.clock(), deps.settings.cleanup_batch)
    return {"read": report.read, "purged": report.purged, "complete": report.complete}


# --- the call-center console and the API reference (static pages) -----------------------


def _page(section: str, name: str) -> Response:
    request = app.current_request
    assert request is not None
    path = str(request.context.get("path") or "")
    if name == "" and not path.endswith("/"):
        # The pages use relative links: /console must become /console/ (with the stage prefix).
        return Response("", status_code=301, headers={"Location": path + "/", "Cache-Control": "no-cache"})
    status, headers, body = web.asset(get_settings(), section, name)
    return Response(body.decode("utf-8"), status_code=status, headers={**headers})


@app.route("/console", methods=["GET"])
def console_page() -> Response:
    """The call-center console (sign-in, search, account card, actions, audit trail)."""
    return _page("console", "")


@app.route("/console/{name}", methods=["GET"])
def console_asset(name: str) -> Response:
    """The console's script, style sheet and configuration."""
    return _page("console", name)


@app.route("/account", methods=["GET"])
def account_page() -> Response:
    """The member page: the web fallback of the app (sign in with a password or a passkey,
    passkeys, devices)."""
    return _page("account", "")


@app.route("/account/{name}", methods=["GET"])
def account_asset(name: str) -> Response:
    """The member page's script and style sheet."""
    return _page("account", name)


@app.route("/docs", methods=["GET"])
def docs_page() -> Response:
    """The API reference for mobile developers, rendering /v1/openapi.json."""
    return _page("docs", "")


@app.route("/docs/{name}", methods=["GET"])
def docs_asset(name: str) -> Response:
    """The reference's renderer (Swagger UI, vendored) and its start-up script."""
    return _page("docs", name)


# --- container init ------------------------------------------------------------------
# Last, after every route: what every request needs is loaded now (or, under SnapStart,
# everything, before the snapshot). See chalicelib/warm.py.
warm.at_init(get_settings())
