"""The hosted Link page at `auth_url`: plain server-rendered HTML forms (no JavaScript), so a person
can click through it in a browser and a test can drive it with form posts (fakes/link_browser.py).

Steps follow Fiskil's consent flow (https://docs.fiskil.com/data-api/guides/link-widget/flow-overview):
institution -> sign in -> one-time passcode -> account selection -> confirm. Success redirects to
redirect_uri; failure or cancel to cancel_uri with error, error_id, error_type, error_description and
error_uri (https://docs.fiskil.com/errors, https://github.com/Fiskil/link test/parse.test.ts).
The outcome is chosen by our own convention: a magic username or PUT /__harness/link-outcome.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fakes.core import assumptions as A
from fakes.core.state import INSTITUTIONS, INSTITUTIONS_BY_ID, LINK_OUTCOMES, AuthSession

if TYPE_CHECKING:
    from fakes.core.app import Core

#: Which step a forced outcome strikes at (INSTITUTION_OUTAGE also at sign-in when pre-selected).
OUTCOME_STEP = {
    "INSTITUTION_OUTAGE": "institution",
    "CONSENT_ENDUSER_INELIGIBLE": "login",
    "CONSENT_OTP_FAILURE": "otp",
    "CONSENT_TIMEOUT": "otp",
    "CONSENT_ENDUSER_DENIED": "confirm",
    "CONSENT_UPSTREAM_PROCESSING_ERROR": "confirm",
    "AUTH_SESSION_CANCELLED": "confirm",
}
DESCRIPTIONS = {  # our own wording; Fiskil's documented texts are only examples
    "AUTH_SESSION_CANCELLED": "The end-user cancelled the authorisation session.",
    "CONSENT_ENDUSER_DENIED": "End-user denied consent during authorisation inside remote institution. "
                              "The end-user should retry the authorisation and complete the institution consent flow.",
    "CONSENT_OTP_FAILURE": "The end-user failed the one-time passcode check at the institution.",
    "CONSENT_ENDUSER_INELIGIBLE": "The end-user is not eligible to share data from this institution.",
    "CONSENT_UPSTREAM_PROCESSING_ERROR": "The institution failed while processing the consent. The end-user should retry.",
    "CONSENT_TIMEOUT": "The consent flow timed out before the end-user completed it.",
    "INSTITUTION_OUTAGE": "The institution is currently unavailable (outage). The end-user should retry later.",
}
SANDBOX_OTP_HINT = "Sandbox: any 6 digits work."

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f3f5f9;color:#1c2230;margin:0;
padding:0 1rem}
main{max-width:30rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 4px 18px rgba(20,30,60,.08)}
h1{font-size:1.35rem;margin:0 0 .4rem}p.lead{color:#55607a;margin:0 0 1.4rem}
label{display:block;margin:.5rem 0;font-weight:500}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #c9d0dd;
border-radius:8px;font-size:1rem;margin-top:.3rem}
.choice{border:1px solid #dde3ec;border-radius:8px;padding:.7rem;margin:.5rem 0;font-weight:400}
.choice small{color:#6b7590;display:block;margin-left:1.6rem}
button{font-size:1rem;padding:.65rem 1.2rem;border-radius:8px;border:0;cursor:pointer;margin-top:1rem}
button.primary{background:#2b59c3;color:#fff}button.secondary{background:#e7ebf3;color:#1c2230}
.actions{display:flex;gap:.6rem;flex-wrap:wrap;align-items:flex-end}.error{background:#fdecec;color:#8a1f1f;
padding:.7rem;border-radius:8px}ul.perms{padding-left:1.2rem}footer{color:#8a93a8;font-size:.8rem;margin-top:1.5rem}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


class LinkPage:
    """Renders the steps and applies the outcome rules for one core."""

    def __init__(self, core: Core) -> None:
        self.core = core

    # --- helpers --------------------------------------------------------------------------------
    def _action(self, base: str, action: str) -> str:
        return f"{base}{A.LINK_PATH}/{action}"

    def _page(self, step: str, title: str, lead: str, body: str, status: int = 200,
              attrs: dict[str, str] | None = None) -> HTMLResponse:
        extra = "".join(f' data-{key}="{_e(value)}"' for key, value in (attrs or {}).items())
        document = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(title)} · Fiskil Link (harness)</title><style>{STYLE}</style></head>"
            f'<body><main data-step="{_e(step)}"{extra}><h1>{_e(title)}</h1><p class="lead">{_e(lead)}</p>'
            f"{body}<footer>Fiskil harness sandbox: a stand-in for the hosted consent flow.</footer></main></body></html>"
        )
        return HTMLResponse(document, status_code=status)

    def _form(self, base: str, session: AuthSession, action: str, inner: str, submit: str,
              cancel: bool = True, extra_buttons: str = "") -> str:
        hidden = f'<input type="hidden" name="sess_id" value="{_e(session.session_id)}">'
        cancel_form = (
            f'<form method="post" action="{_e(self._action(base, "cancel"))}" data-action="cancel">{hidden}'
            f'<button class="secondary" type="submit">Cancel</button></form>' if cancel else "")
        return (f'<form method="post" action="{_e(self._action(base, action))}" data-action="{_e(action)}">'
                f"{hidden}{inner}<div class=\"actions\"><button class=\"primary\" type=\"submit\">{_e(submit)}</button>"
                f"{extra_buttons}</div></form>{cancel_form}")

    def _error_page(self, message: str) -> HTMLResponse:
        error_type = A.INVALID_SESSION_ERROR_TYPE
        return self._page("error", "This link can no longer be used", message,
                          f'<p class="error">{_e(error_type)}: {_e(message)}</p>',
                          status=A.INVALID_SESSION_STATUS, attrs={"error-type": error_type})

    def _valid_session(self, session_id: str | None) -> AuthSession | None:
        session = self.core.state.sessions.get(session_id or "")
        if session is None or session.finished or session.expires_at <= self.core.clock.now():
            return None
        return session

    def _resolve_outcome(self, session: AuthSession) -> str | None:
        """A control-API outcome for the session, else for the user, is consumed once into the session."""
        if session.outcome is None:
            state = self.core.state
            forced = state.outcome_by_session.pop(session.session_id, None) or \
                state.outcome_by_user.pop(session.end_user_id, None)
            session.outcome = forced
        return session.outcome

    # --- outcomes -------------------------------------------------------------------------------
    def _fail(self, session: AuthSession, outcome: str) -> Response:
        session.finished = True
        error_type = A.OUTAGE_ERROR_TYPE if outcome == "INSTITUTION_OUTAGE" else outcome
        params = {
            "error": A.ERROR_VALUES.get(error_type, "access_denied"),
            "error_description": DESCRIPTIONS[outcome],
            "error_id": f"err_{self.core.state.ids.uuid()}",
            "error_type": error_type,
            "error_uri": f"{A.ERROR_URI_BASE}{error_type}",
        }
        if session.cancel_uri:
            return RedirectResponse(_with_query(session.cancel_uri, params), status_code=302)
        return self._page("result", "Linking did not complete", DESCRIPTIONS[outcome],
                          f'<p class="error">{_e(error_type)}</p>',
                          attrs={"outcome": "cancel", "params": urlencode(params)})

    def _succeed(self, session: AuthSession) -> Response:
        session.finished = True
        consent = self.core.complete_link(session)
        values = {"session_id": session.session_id, "consent_id": consent.arrangement_id}
        params = {name: values[name] for name in self.core.config.success_redirect_params if name in values}
        if session.redirect_uri:
            return RedirectResponse(_with_query(session.redirect_uri, params), status_code=302)
        return self._page("result", "You're all set", "Your data is now being shared. You can close this window.",
                          "", attrs={"outcome": "redirect", "params": urlencode(params),
                                     "consent-id": consent.arrangement_id})

    # --- steps ----------------------------------------------------------------------------------
    def render(self, base: str, session: AuthSession, error: str | None = None) -> HTMLResponse:
        notice = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
        institution = INSTITUTIONS_BY_ID.get(session.chosen_institution or "")
        if session.step == "institution":
            choices = "".join(
                f'<label class="choice"><input type="radio" name="institution_id" value="{_e(item.id)}"'
                f'{" checked" if index == 0 else ""}> {_e(item.name)}'
                f"<small>{_e(item.industry)} · {_e(item.status.lower())}</small></label>"
                for index, item in enumerate(INSTITUTIONS))
            return self._page("institution", "Choose your institution",
                              "Select the bank or energy retailer that holds your data.",
                              notice + self._form(base, session, "institution", choices, "Continue"))
        name = institution.name if institution else "your institution"
        if session.step == "login":
            inner = (f'<label for="username">Username<input type="text" id="username" name="username" '
                     f'autocomplete="off" required></label><p class="lead">Sandbox usernames: '
                     f'<code>{A.SUCCESS_USERNAME}</code> succeeds; <code>{A.ERROR_USERNAME_PREFIX}&lt;OUTCOME&gt;</code> '
                     f"(e.g. <code>error_CONSENT_ENDUSER_DENIED</code>) forces that outcome.</p>")
            return self._page("login", f"Sign in to {name}", "Enter your institution username.",
                              notice + self._form(base, session, "login", inner, "Sign in"))
        if session.step == "otp":
            inner = ('<label for="otp">One-time passcode<input type="text" id="otp" name="otp" inputmode="numeric" '
                     f'pattern="[0-9]{{6}}" required></label><p class="lead">{SANDBOX_OTP_HINT}</p>')
            return self._page("otp", "Enter your one-time passcode",
                              f"{name} sent a 6-digit code to your registered phone.",
                              notice + self._form(base, session, "otp", inner, "Verify"))
        if session.step == "accounts":
            choices = "".join(
                f'<label class="choice"><input type="checkbox" name="account_ids" value="{_e(account["fiskil_id"])}" '
                f'checked> {_e(account["display_name"])}<small>{_e(account["masked_number"])}</small></label>'
                for account in self.core.offered_accounts(session))
            return self._page("accounts", "Choose accounts to share", f"Accounts held at {name}.",
                              notice + self._form(base, session, "accounts", choices, "Continue"))
        permissions = session.permissions or (
            ["accounts", "balances", "transactions", "payees", "direct_debits", "scheduled_payments"]
            if not institution or institution.industry == "banking" else
            ["energy_accounts", "energy_balances", "usage", "billing", "invoices"])
        days = self.core.config.consent_duration_seconds // 86_400
        inner = ("<p>" + _e(A.APP_NAME) + " is asking to access:</p><ul class=\"perms\">"
                 + "".join(f"<li>{_e(permission.replace('_', ' '))}</li>" for permission in permissions)
                 + f"</ul><p>Sharing lasts <strong>{days} days</strong> ({_count(len(session.account_ids), 'account')}).</p>")
        deny = '<button class="secondary" type="submit" name="decision" value="deny">Deny</button>'
        return self._page("confirm", "Confirm data sharing", f"Review what you share from {name}.",
                          notice + self._form(base, session, "confirm", inner, "Share my data", extra_buttons=deny))

    def handle(self, base: str, session: AuthSession, action: str, form: dict[str, Any]) -> Response:
        """Apply one posted step; out-of-order posts re-render the current step."""
        if action == "cancel":
            return self._fail(session, "AUTH_SESSION_CANCELLED")
        outcome = self._resolve_outcome(session)
        if action != session.step:
            return self.render(base, session, error=f"Please finish the '{session.step}' step first.")
        if action == "institution":
            choice = str(form.get("institution_id", ""))
            if choice not in INSTITUTIONS_BY_ID:
                return self.render(base, session, error="Choose one of the listed institutions.")
            session.chosen_institution = choice
            if outcome == "INSTITUTION_OUTAGE" or INSTITUTIONS_BY_ID[choice].status == "OUTAGE":
                return self._fail(session, "INSTITUTION_OUTAGE")
            session.step = "login"
        elif action == "login":
            username = str(form.get("username", "")).strip()
            if not username:
                return self.render(base, session, error="Enter a username.")
            if username.startswith(A.ERROR_USERNAME_PREFIX):
                wanted = username[len(A.ERROR_USERNAME_PREFIX):]
                if wanted not in LINK_OUTCOMES or wanted == "success":
                    allowed = ", ".join(A.ERROR_USERNAME_PREFIX + item for item in LINK_OUTCOMES if item != "success")
                    return self.render(base, session, error=f"Unknown sandbox username; use {A.SUCCESS_USERNAME} or one of: {allowed}")
                session.outcome = session.outcome or wanted
            outcome = session.outcome
            session.username = username
            institution = INSTITUTIONS_BY_ID[session.chosen_institution or A.SANDBOX_BANK_ID]
            if outcome == "INSTITUTION_OUTAGE" or institution.status == "OUTAGE":
                return self._fail(session, "INSTITUTION_OUTAGE")
            if outcome == "CONSENT_ENDUSER_INELIGIBLE":
                return self._fail(session, outcome)
            session.step = "otp"
        elif action == "otp":
            code = str(form.get("otp", "")).strip()
            if not (len(code) == 6 and code.isdigit()):
                return self.render(base, session, error="The passcode is 6 digits.")
            if outcome in ("CONSENT_OTP_FAILURE", "CONSENT_TIMEOUT"):
                return self._fail(session, outcome)
            session.step = "accounts"
        elif action == "accounts":
            offered = {account["fiskil_id"] for account in self.core.offered_accounts(session)}
            chosen = [value for value in form.get("account_ids", []) if value in offered]
            if not chosen:
                return self.render(base, session, error="Select at least one account to share.")
            session.account_ids = chosen
            session.step = "confirm"
        elif action == "confirm":
            if form.get("decision") == "deny":
                return self._fail(session, "CONSENT_ENDUSER_DENIED")
            if outcome in ("CONSENT_ENDUSER_DENIED", "CONSENT_UPSTREAM_PROCESSING_ERROR", "AUTH_SESSION_CANCELLED"):
                return self._fail(session, outcome)
            return self._succeed(session)
        return self.render(base, session)


def _count(number: int, noun: str) -> str:
    """ "1 account", "2 accounts" """
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def routes(core: Core) -> list[Route]:
    page = LinkPage(core)

    def base_of(request: Request) -> str:
        return core.public_base(f"{request.url.scheme}://{request.url.netloc}")

    def show(request: Request) -> Response:
        with core.lock:
            session = page._valid_session(request.query_params.get("sess_id"))
            if session is None:
                return page._error_page("The session is unknown, expired or already used. Start linking again.")
            return page.render(base_of(request), session)

    def act(request: Request, action: str, form: dict[str, Any]) -> Response:
        try:
            with core.lock:
                session = page._valid_session(form.get("sess_id"))
                if session is None:
                    return page._error_page("The session is unknown, expired or already used. Start linking again.")
                return page.handle(base_of(request), session, action, form)
        finally:
            core.flush_events()

    async def get_endpoint(request: Request) -> Response:
        return await run_in_threadpool(show, request)

    async def post_endpoint(request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("institution", "login", "otp", "accounts", "confirm", "cancel"):
            return page._error_page(f"Unknown step {action!r}.")
        async with request.form() as submitted:
            form: dict[str, Any] = {key: value for key, value in submitted.items() if isinstance(value, str)}
            form["account_ids"] = [value for value in submitted.getlist("account_ids") if isinstance(value, str)]
        return await run_in_threadpool(act, request, action, form)

    return [
        Route(A.LINK_PATH, get_endpoint, methods=["GET"]),
        Route(A.LINK_PATH + "/{action}", post_endpoint, methods=["POST"]),
    ]
