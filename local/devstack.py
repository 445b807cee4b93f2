"""The whole local stack in one process: AWS emulator, tables, API and inbox.

    python -m local.devstack            # what `make run` starts

- moto's server plays DynamoDB, SES and SNS on 127.0.0.1 (``SANDI_EMULATOR_PORT``,
  default 4566); the app reaches it through ``AWS_ENDPOINT_URL`` like real AWS.
- The tables are created (with TTL) and the SES sender identity verified.
- The API is served on ``SANDI_API_PORT`` (8000) by chalice's local server, with
  unknown routes answered in the contract's shape, as API Gateway's gateway
  responses do in a deployed stage.
- The outbox sender runs as in AWS: the ``outbox`` table's stream (kept by moto) is
  read every quarter second and handed to the same handler Lambda would invoke.
- The inbox on ``SANDI_INBOX_PORT`` (8025) shows every email and SMS the emulator's
  SES and SNS received: ``/`` (HTML), ``GET /api/messages``, ``DELETE /api/messages``.

Nothing here is deployed: chalice packages only ``app.py`` and ``chalicelib/``. What
tests and scripts use to start and reach a stack is in ``local/client.py``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import signal
import sys
import threading
import time
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.streams import StreamTail
from local.write_log import WriteLog

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGION = "ap-southeast-3"


def prepare_environment(emulator_port: int) -> None:
    """Fake credentials, one region, and every AWS call pointed at the emulator."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": os.environ.get("SANDI_REGION", REGION),
            "AWS_REGION": os.environ.get("SANDI_REGION", REGION),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{emulator_port}",
            "SANDI_STAGE": os.environ.get("SANDI_STAGE", "local"),
        }
    )


def apply_stage_environment() -> None:
    """The stage's variables from ``.chalice/config.json``, as chalice applies them."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    stage = os.environ["SANDI_STAGE"]
    os.environ.update(config.get("environment_variables", {}))
    os.environ.update(config["stages"][stage].get("environment_variables", {}))


# --- emulator -----------------------------------------------------------------------


class _Serialized:
    """Runs one emulator request at a time.

    DynamoDB applies each conditional write atomically; moto evaluates a condition and
    applies the write as separate Python steps with no lock, so two threads could both
    pass a condition. Serializing requests restores the guarantee the code relies on.
    After each request the new outgoing messages are stamped with the time they arrived.
    """

    def __init__(self, app: Any, on_request: Any) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._on_request = on_request

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self._lock:
            body = list(self._app(environ, start_response))
            self._on_request()
            return body


class Emulator:
    """moto's threaded server on loopback, serialized, with a view of sent messages."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.inbox = Inbox()

    def start(self) -> None:
        """Serve the emulator in a background thread."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from local.emulator_fixes import fast_transactions  # import order: after the environment is set

        fast_transactions()

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return

        app = _Serialized(DomainDispatcherApplication(create_backend_app), self.inbox.stamp_new)
        self._server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="emulator")
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()


def simulator_mailbox(address: str) -> str:
    """Which SES mailbox simulator address this is, without a ``+label`` as SES allows
    (``bounce+smoke1@simulator.amazonses.com`` is ``bounce``); empty for any other address."""
    local, _, domain = address.lower().partition("@")
    return local.split("+")[0] if domain == "simulator.amazonses.com" else ""


class ReceiptSimulator:
    """Delivery receipts for the local stage, through the app's own receipt handlers.

    As API.md's "Local development" says: SES's mailbox simulator addresses behave as in
    SES (``bounce@`` bounces, ``complaint@`` is delivered then complains, a ``+label``
    included), an SMS to a
    number ending in ``0000`` fails as unreachable, everything else is delivered about
    a second after it was sent. Each receipt is a provider-shaped event
    (local/provider_events.py) handed to the same Lambda handler AWS would invoke
    (``app.ses_feedback`` through SNS, ``app.sms_receipts`` through CloudWatch Logs).
    The inbox shows each message's state.
    """

    DELAY = 1.0

    def __init__(self) -> None:
        import queue

        self._queue: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        threading.Thread(target=self._run, daemon=True, name="receipts").start()

    def schedule(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self._queue.put((time.time() + self.DELAY, message))

    def _run(self) -> None:
        while True:
            due, message = self._queue.get()
            time.sleep(max(0.0, due - time.time()))
            try:
                self._deliver(message)
            except Exception as exc:  # a simulation problem must not stop the stack
                print(f"receipt simulation failed: {type(exc).__name__}: {exc}", flush=True)

    @staticmethod
    def _deliver(message: dict[str, Any]) -> None:
        import app as application  # import order: after the environment is set
        from local import provider_events as events  # import order: after the environment is set

        class Context:
            aws_request_id = "local-receipt"
            function_name = "local"

        to, accepted, now = message["to"], message["sent_at"], time.time()
        if message["channel"] == "email":
            mid = str(message["_message_id"])
            if simulator_mailbox(to) == "bounce":
                notes = [events.ses_bounce(mid, to, accepted, now)]
                message.update(_delivery="failed", _failure="bounced")
            else:
                notes = [events.ses_delivery(mid, to, accepted, now)]
                message.update(_delivery="delivered")
                if simulator_mailbox(to) == "complaint":
                    notes.append(events.ses_complaint(mid, to, accepted, now))
                    message.update(_delivery="delivered (complaint)")
            for note in notes:
                application.ses_feedback(events.sns_lambda_event(note), Context())
        else:
            unreachable = to.endswith("0000")
            response = events.SMS_UNREACHABLE if unreachable else events.SMS_DELIVERED
            entry = events.sms_status(str(message["_message_id"]), to, accepted, response)
            # the inbox shows the outcome no later than the API does
            if unreachable:
                message.update(_delivery="failed", _failure="unreachable")
            else:
                message.update(_delivery="delivered")
            application.sms_receipts(events.awslogs_event([entry], failure=unreachable), Context())


class Inbox:
    """Every email and SMS the emulator's SES and SNS accepted, newest first.

    Incremental: after each emulator request only messages beyond the ones already
    taken are read (SES keeps a list, SNS an insertion-ordered dict; both only grow
    until cleared), so the cost of a request does not grow with the inbox.
    """

    def __init__(self, on_new: Any = None) -> None:
        self.on_new = on_new  # called with each batch of new messages (the receipt simulator)
        self._messages: list[dict[str, Any]] = []  # arrival order
        self._by_to: dict[str, list[dict[str, Any]]] = {}
        self._ses_taken = 0
        self._sms_taken = 0
        self._lock = threading.Lock()

    @staticmethod
    def _backends() -> tuple[Any, Any]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        region = os.environ.get("AWS_DEFAULT_REGION", REGION)
        return ses_backends[DEFAULT_ACCOUNT_ID][region], sns_backends[DEFAULT_ACCOUNT_ID][region]

    @staticmethod
    def _email(message: Any) -> dict[str, Any]:
        to = (getattr(message, "destinations", None) or {}).get("ToAddresses") or [""]
        return {
            "id": f"email-{message.id}",
            "_message_id": message.id,
            "channel": "email",
            "to": to[0],
            "subject": getattr(message, "subject", None),
            "body": getattr(message, "body", ""),
        }

    def stamp_new(self) -> None:
        """Take the messages that arrived since the last call, stamped with the time now."""
        import itertools

        ses, sns = self._backends()
        if len(ses.sent_messages) == self._ses_taken and len(sns.sms_messages) == self._sms_taken:
            return
        now = time.time()
        with self._lock:
            emails = [self._email(m) for m in ses.sent_messages[self._ses_taken :]]
            texts = list(itertools.islice(sns.sms_messages.items(), self._sms_taken, None))
            self._ses_taken += len(emails)
            self._sms_taken += len(texts)
            sms = [
                {"id": f"sms-{mid}", "_message_id": mid, "channel": "sms", "to": phone, "subject": None, "body": text}
                for mid, (phone, text) in texts
            ]
            for position, message in enumerate(emails + sms):
                # position keeps the order of messages that arrived in the same request
                message["sent_at"] = now + position * 1e-6
                message["_delivery"] = "sent"  # "_": shown on the page, not in the contract's JSON
                self._messages.append(message)
                self._by_to.setdefault(message["to"], []).append(message)
        if self.on_new is not None:
            self.on_new(emails + sms)

    def messages(self, to: str | None = None, limit: int | None = None, internal: bool = False) -> list[dict[str, Any]]:
        """The contract's message list, newest first; only those to ``to``, at most ``limit``
        (``internal``: with the simulated delivery state, for the HTML page)."""
        self.stamp_new()
        with self._lock:
            source = self._by_to.get(to, []) if to is not None else self._messages
            newest = source[-limit:] if limit else source
            listed = [{k: v for k, v in m.items() if internal or not k.startswith("_")} for m in reversed(newest)]
        for m in listed:
            m["sent_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m["sent_at"]))
        return listed

    def clear(self) -> None:
        """Forget every message."""
        ses, sns = self._backends()
        with self._lock:
            ses.sent_messages.clear()
            sns.sms_messages.clear()
            self._messages.clear()
            self._by_to.clear()
            self._ses_taken = self._sms_taken = 0


def _inbox_page(messages: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>".format(
            html.escape(m["sent_at"]),
            html.escape(m["channel"]),
            html.escape(m["to"]),
            html.escape(m.get("_delivery", "") + (f" ({m['_failure']})" if m.get("_failure") else "")),
            html.escape(m["subject"] or ""),
            html.escape(m["body"] or ""),
        )
        for m in messages
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='3'>"
        "<title>Sandi local inbox</title><style>body{font-family:sans-serif;margin:1em}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px;"
        "vertical-align:top;text-align:left}pre{white-space:pre-wrap;margin:0}</style></head><body>"
        f"<h1>Sandi local inbox</h1><p>The newest {len(messages)} message(s), newest first. "
        "JSON: <code>GET /api/messages</code> (optional <code>?to=</code>, <code>&amp;limit=</code>); "
        "empty it with <code>DELETE /api/messages</code>.</p>"
        "<table><tr><th>sent at</th><th>channel</th><th>to</th><th>delivery</th><th>subject</th><th>body</th></tr>"
        f"{rows}</table></body></html>"
    )


PAGE_LIMIT = 200  # the newest messages the HTML page shows (the JSON API has them all)


class InboxServer(ThreadingHTTPServer):
    """The inbox's HTTP server."""

    daemon_threads = True
    request_queue_size = 128


def inbox_handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    """The inbox's HTTP handler class."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            from urllib.parse import parse_qs, urlsplit

            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            limit = int(query["limit"]) if query.get("limit", "").isdigit() else None
            if url.path == "/api/messages":  # optional ?to=<address or E.164>&limit=<n>
                listed = inbox.messages(query.get("to"), limit)
                self._send(200, json.dumps({"messages": listed}).encode(), "application/json")
            elif url.path == "/":
                page = _inbox_page(inbox.messages(query.get("to"), PAGE_LIMIT, internal=True))
                self._send(200, page.encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def do_DELETE(self) -> None:
            if self.path.split("?")[0] == "/api/messages":
                inbox.clear()
                self._send(200, b'{"messages": []}', "application/json")
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


# --- tables and identities ----------------------------------------------------------


def provision(emulator_port: int) -> None:
    """Create the tables, the staff pool and verify the SES sender, as a deployed stage has them."""
    import boto3

    from chalicelib.config import get_settings  # import order: after the environment is set
    from chalicelib.storage.models import create_tables  # import order: after the environment is set
    from local.staff_pool import ensure_pool  # import order: after the environment is set

    cognito = boto3.client("cognito-idp", region_name=os.environ["AWS_DEFAULT_REGION"])
    pool_id, client_id = ensure_pool(cognito, os.environ["SANDI_STAGE"])
    os.environ["SANDI_STAFF_POOL_ID"] = pool_id
    os.environ["SANDI_STAFF_CLIENT_ID"] = client_id
    os.environ["SANDI_STAFF_JWKS_URL"] = f"http://127.0.0.1:{emulator_port}/{pool_id}/.well-known/jwks.json"
    os.environ["SANDI_STAFF_IDP_ENDPOINT"] = f"http://127.0.0.1:{emulator_port}/"  # the console signs in here
    os.environ.setdefault("SANDI_SES_CONFIGURATION_SET", f"sandi-{os.environ['SANDI_STAGE']}-events")
    _store_secret(boto3.client("ssm", region_name=os.environ["AWS_DEFAULT_REGION"]))
    settings = get_settings()
    create_tables(settings)
    sender = parseaddr(settings.ses_sender)[1]
    ses = boto3.client("ses", region_name=settings.region)
    ses.verify_email_identity(EmailAddress=sender)
    # As deployed: sends go through a configuration set (receipts are simulated, see ReceiptSimulator).
    config_set = settings.ses_configuration_set
    try:
        ses.create_configuration_set(ConfigurationSet={"Name": config_set})
    except ses.exceptions.ConfigurationSetAlreadyExistsException:
        pass


def _store_secret(ssm: Any) -> None:
    """The stage secret lives in (the emulator's) SSM, read by the app as in a deployed
    stage, so `make rotate-secret STAGE=local` rotates the running stack. A
    ``SANDI_SECRET_KEY`` given to the stack (tests, benchmarks) is stored as it is."""
    from local.rotate_secret import new_document, parameter_name  # import order: after the stack's environment

    name = parameter_name(os.environ["SANDI_STAGE"])
    value = os.environ.pop("SANDI_SECRET_KEY", "") or new_document()
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    os.environ["SANDI_SECRET_SSM_PARAM"] = name
    os.environ.setdefault("SANDI_SECRET_REFRESH_SECONDS", "2")  # a local rotation shows at once


# --- API ------------------------------------------------------------------------------


def _gateway_error(code: int, raw: bytes) -> Any:
    """The contract error for an answer API Gateway itself would give (see the template's
    gateway responses), or None for an answer of the app."""
    from chalicelib.errors import ApiError  # import order: after the environment is set

    if code == 405 or (code == 403 and (b"Missing Authentication Token" in raw or b"Credential" in raw)):
        return ApiError("not_found")
    if code == 401 and b"Unauthorized" in raw:
        return ApiError("unauthenticated")
    if code == 403 and b"not authorized to access" in raw:
        return ApiError("forbidden")
    return None


def contract_handler() -> type:
    """chalice's local request handler, answering unknown routes in the contract's shape."""
    from chalice.local import ChaliceRequestHandler

    from chalicelib.http import language  # import order: after the environment is set

    class Handler(ChaliceRequestHandler):
        def _send_http_response(self, code: int, headers: Any, body: Any) -> None:
            raw = body if isinstance(body, bytes) else (body or "").encode()
            error = _gateway_error(code, raw)
            if error is not None:
                lang = language({k.lower(): v for k, v in self.headers.items()})
                code, headers = error.status, {"Content-Type": "application/json"}
                body = json.dumps(error.body(lang), ensure_ascii=False)
            super()._send_http_response(code, headers, body)

        def log_message(self, format: str, *args: Any) -> None:
            return

        def __getattr__(self, name: str) -> Any:
            # Methods http.server does not know (TRACE, QUERY...) would get its own 501
            # page; API Gateway answers them like any unknown route.
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

    return Handler


def api_server(host: str, port: int) -> Any:
    """chalice's local server for the ``local`` stage, without autoreload."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalDevServer, ThreadedHTTPServer

    class Server(ThreadedHTTPServer):
        request_queue_size = 128  # many clients connect at once in the race tests

    factory = CLIFactory(str(PROJECT_DIR))
    config = factory.create_config_obj(chalice_stage_name=os.environ.get("SANDI_STAGE", "local"))
    return LocalDevServer(config.chalice_app, config, host, port, handler_cls=contract_handler(), server_cls=Server)


# --- main -----------------------------------------------------------------------------


def _cleanup_loop() -> None:
    """chalice local runs no schedules: run the cleanup on its interval here."""
    from chalicelib import cleanup  # import order: after the environment is set
    from chalicelib.deps import get_deps  # import order: after the environment is set

    deps = get_deps()
    while True:
        time.sleep(deps.settings.cleanup_minutes * 60)
        try:
            cleanup.run(deps.clock(), deps.settings.cleanup_batch)
        except Exception as exc:
            print(f"cleanup failed: {type(exc).__name__}", flush=True)


# Lambda's stream polling is about as quick; SANDI_OUTBOX_POLL_SECONDS moves it (a timing
# bench defers the sender: in AWS it is another function, not this process's threads)
OUTBOX_POLL_SECONDS = float(os.environ.get("SANDI_OUTBOX_POLL_SECONDS", "0.25"))


def _outbox_loop(emulator_port: int) -> None:
    """Run the outbox sender the way AWS does: the outbox table's stream records, handed to
    the same Lambda handler (``app.outbox_sender``) as they arrive."""
    import boto3

    import app as application  # import order: after the environment is set
    from chalicelib.deps import get_deps  # import order: after the environment is set
    from chalicelib.storage.models import OutboxModel  # import order: after the environment is set

    get_deps()
    # the environment points every client at the emulator (prepare_environment)
    tail = StreamTail(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), OutboxModel.Meta.table_name)

    class Context:
        aws_request_id = "local-outbox"
        function_name = "local"

    while True:
        try:
            tail.deliver(lambda event: application.outbox_sender(event, Context()))
        except Exception as exc:  # the sender must outlive one bad batch, as the stream does
            print(f"outbox sender failed: {type(exc).__name__}", flush=True)
        time.sleep(OUTBOX_POLL_SECONDS)


def _record_writes() -> WriteLog | None:
    """With ``SANDI_WRITE_LOG=path``: count every key the app writes (the load test's hot keys)."""
    if not os.environ.get("SANDI_WRITE_LOG"):
        return None
    from chalicelib import aws  # import order: after the environment is set

    log = WriteLog()
    aws.session().register("before-parameter-build.dynamodb", log.hook)
    return log


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Start everything and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("SANDI_API_PORT", "8000")))
    parser.add_argument("--inbox-port", type=int, default=int(os.environ.get("SANDI_INBOX_PORT", "8025")))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("SANDI_EMULATOR_PORT", "4566")))
    args = parser.parse_args(argv)

    sys.path.insert(0, str(PROJECT_DIR))
    emulator = Emulator(args.emulator_port)
    emulator.start()
    prepare_environment(emulator.port)
    apply_stage_environment()
    write_log = _record_writes()  # before any client exists: clients copy the session's hooks
    # Passkeys: the relying party is "localhost" and the member page's origin is this
    # port's (http://localhost is a secure context for WebAuthn; 127.0.0.1 is not a valid RP id).
    os.environ.setdefault("SANDI_PASSKEY_ORIGINS", f"http://localhost:{args.api_port}")
    provision(emulator.port)
    emulator.inbox.on_new = ReceiptSimulator().schedule  # delivery receipts, as SES and SNS send them

    inbox_server = InboxServer(("127.0.0.1", args.inbox_port), inbox_handler(emulator.inbox))
    threading.Thread(target=inbox_server.serve_forever, daemon=True, name="inbox").start()

    threading.Thread(target=_cleanup_loop, daemon=True, name="cleanup").start()
    threading.Thread(target=_outbox_loop, args=(emulator.port,), daemon=True, name="outbox").start()
    api = api_server("127.0.0.1", args.api_port)
    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"Sandi local stack ready\n"
        f"  API       http://127.0.0.1:{args.api_port}\n"
        f"  member    http://localhost:{args.api_port}/account/ (passkeys: use localhost)\n"
        f"  inbox     http://127.0.0.1:{args.inbox_port}\n"
        f"  emulator  http://127.0.0.1:{emulator.port} (moto)\n"
        "Ctrl-C stops everything.",
        flush=True,
    )
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if write_log is not None:
            write_log.dump(Path(os.environ["SANDI_WRITE_LOG"]))
        inbox_server.shutdown()
        emulator.stop()
        print("stopped", flush=True)
    # Everything worth stopping has stopped; do not wait for idle keep-alive threads.
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
