"""PynamoDB models: storage only, no business rules.

Table names are bound at run time from Settings (``bind``) so each stage, and each
test, has its own. Every item that expires carries ``expires_at`` as a TTLAttribute;
DynamoDB's TTL deletion lags by up to two days, so readers check it too.
"""

from __future__ import annotations

import secrets

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.clock import to_datetime
from chalicelib.config import Settings

# Items that expire are indexed by when they expire (``by_expiry``: a shard drawn at
# random per write, then the expiry time), so the cleanup reads only what is over, shard
# by shard, never the live part of a table; and since every new flow and every session
# refresh writes the index, no index key takes more than 1/EXPIRY_SHARDS of them (a GSI
# partition takes about 1,000 writes a second; a throttled index throttles its table).
EXPIRY_SHARDS = 64


def expiry_shard() -> str:
    """The index shard an expiring write is filed under (drawn per write)."""
    return str(secrets.randbelow(EXPIRY_SHARDS))


def _expiry_index(name: str) -> GlobalSecondaryIndex:  # type: ignore[type-arg]
    class ExpiryIndex(GlobalSecondaryIndex):  # type: ignore[type-arg]
        class Meta:
            index_name = "by_expiry"
            projection = KeysOnlyProjection()

        expiry_shard = UnicodeAttribute(hash_key=True)
        expires_at = TTLAttribute(range_key=True)

    ExpiryIndex.__name__ = f"{name}ExpiryIndex"
    return ExpiryIndex()


class _Base(Model):
    class Meta:
        abstract = True
        table_name = "unbound"
        region = "ap-southeast-3"
        connect_timeout_seconds = 2
        read_timeout_seconds = 5
        max_retry_attempts = 2

    @classmethod
    def _get_connection(cls):  # type: ignore[no-untyped-def]
        """PynamoDB's table connection, sending through the container's one DynamoDB client."""
        table = super()._get_connection()
        aws.share(table.connection)
        return table


class _Expiring(_Base):
    """An item that expires: TTL on ``expires_at``, indexed by it under a random shard."""

    class Meta(_Base.Meta):
        abstract = True

    expires_at = TTLAttribute()
    expiry_shard = UnicodeAttribute(null=True)

    def expire_at(self, ts: float) -> None:
        """Set the expiry of an item about to be written whole."""
        self.expires_at = to_datetime(ts)
        self.expiry_shard = expiry_shard()

    @classmethod
    def expiry_actions(cls, ts: float) -> list[Action]:
        """Update actions that move the expiry (and its index entry with it)."""
        return [cls.expires_at.set(to_datetime(ts)), cls.expiry_shard.set(expiry_shard())]


class AccountModel(_Base):
    """A person's account. NIK is kept only as a keyed hash and a masked form."""

    class Meta(_Base.Meta):
        table_name = "accounts"

    account_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(default="active")  # active | closed (staff reset) | deleted (by the member)
    # personal data: every one of these is erased when the account is deleted or reset
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    full_name = UnicodeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True)
    nik_hash = UnicodeAttribute(null=True)
    nik_masked = UnicodeAttribute(null=True)
    kpj = UnicodeAttribute(null=True)
    membership_type = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    pin_hash = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    erased_at = NumberAttribute(null=True)
    # sign-in protection: wrong secrets in a row (reserved before each check), lock
    failed_logins = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    lock_count = NumberAttribute(default=0)
    pin_failures = NumberAttribute(default=0)  # wrong PINs since the last PIN success
    pin_disabled = BooleanAttribute(default=False)
    # sessions made under another epoch are void (password change, reset, closure)
    session_epoch = NumberAttribute(default=0)
    # the authenticator app: secrets sealed (AES-GCM), recovery codes as keyed hashes
    totp_secret = UnicodeAttribute(null=True)
    totp_pending = UnicodeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)
    recovery_codes = UnicodeSetAttribute(null=True)
    passkeys = UnicodeSetAttribute(null=True)  # credential ids of the member's passkeys (at most 10)
    pending_change = UnicodeAttribute(null=True)  # the call center's contact change awaiting approval
    lang = UnicodeAttribute(null=True)  # the member's language for notices (id | en): set at registration and sign-in


class ClaimModel(_Base):
    """Ownership of a unique value (``email#…``, ``nik#<hmac>``, ``phone#…``, ``kpj#…``)."""

    class Meta(_Base.Meta):
        table_name = "claims"

    claim_key = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    created_at = NumberAttribute()


class FlowsByQueue(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """Sparse: the flows waiting on someone (``queue`` set only while they wait), oldest
    first: the call center's contact changes awaiting a second person."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class FlowModel(_Expiring):
    """A multi-step journey and, while a code is outstanding, its challenge.

    The challenge lives in the flow item (``ch_*``) so that counting an attempt and
    advancing the flow are conditional writes on one item: no step needs more than
    two round trips, and no cross-item race exists between code and state.
    """

    class Meta(_Base.Meta):
        table_name = "flows"

    by_expiry = _expiry_index("Flow")
    by_queue = FlowsByQueue()
    flow_id = UnicodeAttribute(hash_key=True)
    flow_type = UnicodeAttribute()
    state = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    lang = UnicodeAttribute(default="id")
    account_id = UnicodeAttribute(null=True)
    data = MapAttribute(default=dict)  # type: ignore[var-annotated]
    queue = UnicodeAttribute(null=True)  # set while the flow waits on staff (by_queue)

    ch_channel = UnicodeAttribute(null=True)
    ch_destination = UnicodeAttribute(null=True)
    ch_code_id = UnicodeAttribute(null=True)
    ch_code_hash = UnicodeAttribute(null=True)
    ch_expires_at = NumberAttribute(null=True)
    ch_resend_at = NumberAttribute(null=True)
    ch_attempts = NumberAttribute(null=True)
    ch_sends = NumberAttribute(null=True)
    ch_delivery = UnicodeAttribute(null=True)
    ch_delivery_failure = UnicodeAttribute(null=True)  # why a failed send failed (provider's receipt)
    ch_settles_at = NumberAttribute(null=True)  # a decoy's: when it reads "delivered"
    ch_notice = BooleanAttribute(null=True)


class SessionsByAccount(GlobalSecondaryIndex):  # type: ignore[type-arg]
    """An account's sessions (the devices list), with what the list shows."""

    class Meta:
        index_name = "by_account"
        projection = IncludeProjection(["device", "last_used_at", "revoked", "epoch", "expires_at", "amr"])

    account_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class SessionModel(_Expiring):
    """A signed-in session: one refresh-token family.

    The refresh token is kept only as a keyed hash; the last spent hashes are kept
    too, so presenting a spent token is recognised as reuse and revokes the family.
    """

    class Meta(_Base.Meta):
        table_name = "sessions"

    by_expiry = _expiry_index("Session")
    by_account = SessionsByAccount()
    session_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    epoch = NumberAttribute(default=0)
    refresh_hash = UnicodeAttribute()
    spent = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[var-annotated]
    created_at = NumberAttribute()
    last_used_at = NumberAttribute(null=True)  # sign-in, then every refresh (in the same write)
    device = UnicodeAttribute(null=True)  # a short description from the User-Agent, never the header
    revoked = BooleanAttribute(default=False)
    amr = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[var-annotated]  # how it signed in (RFC 8176)


class CounterModel(_Expiring):
    """A rate limit: a rolling log of event times (``stamps``) or a fixed window's ``hits``.

    A ``login#…`` item is the sign-in guard of a login that has no account: it carries
    the same lockout attributes as an account, so an unknown login is locked exactly
    like a known one (no account oracle).
    """

    class Meta(_Base.Meta):
        table_name = "counters"

    by_expiry = _expiry_index("Counter")
    counter_key = UnicodeAttribute(hash_key=True)
    stamps = NumberSetAttribute(null=True)
    hits = NumberAttribute(null=True)
    failed_logins = NumberAttribute(null=True)
    locked_until = NumberAttribute(null=True)
    lock_count = NumberAttribute(null=True)
    pin_failures = NumberAttribute(null=True)
    pin_disabled = BooleanAttribute(null=True)
    # a guard is shaped like an account where the sign-in path reads it: a status and
    # argon2 hashes (of nothing anyone knows) to verify against, so both paths do alike
    status = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    pin_hash = UnicodeAttribute(null=True)
    # a ``receipt#…`` item: the latest challenge sent to one destination, so a provider's
    # delivery receipt (which names the destination) finds its flow and code
    flow_id = UnicodeAttribute(null=True)
    code_id = UnicodeAttribute(null=True)
    sent_at = NumberAttribute(null=True)
    refund = UnicodeAttribute(null=True)  # the send-cap events to give back if it fails (JSON)


class SuppressionModel(_Base):
    """A destination that must not be sent to (SES bounce or complaint), by keyed hash."""

    class Meta(_Base.Meta):
        table_name = "suppressions"

    destination_key = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    created_at = NumberAttribute()


class AuditModel(_Base):
    """One security event or staff action, newest first per subject (an account, a flow, staff)."""

    class Meta(_Base.Meta):
        table_name = "audit"

    subject = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)  # "<epoch µs, zero-padded>#<random>": sorts by time
    kind = UnicodeAttribute()
    actor = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    client_hash = UnicodeAttribute(null=True)  # keyed hash of the client address, never the address
    device = UnicodeAttribute(null=True)  # the user agent's short description ("Chrome on Android 14")
    request_id = UnicodeAttribute(null=True)
    details = MapAttribute(default=dict)  # type: ignore[var-annotated]
    at = NumberAttribute()
    expires_at = TTLAttribute()


class PasskeyModel(_Base):
    """A passkey (WebAuthn credential): its public key and sign count, never in an answer.

    Keyed by the credential id (base64url), which the sign-in assertion names; the
    account lists its own in ``AccountModel.passkeys``. Deleted with the account.
    """

    class Meta(_Base.Meta):
        table_name = "passkeys"

    credential_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    public_key = UnicodeAttribute()  # COSE key, base64url
    sign_count = NumberAttribute(default=0)
    backup_eligible = BooleanAttribute(default=False)
    backed_up = BooleanAttribute(default=False)
    name = UnicodeAttribute()
    created_at = NumberAttribute()
    last_used_at = NumberAttribute(null=True)


class OutboxModel(_Base):
    """A message the member is not waiting for in the request that wrote it (a security
    notice, the forgot-email SMS, a decoy), sent afterwards by the outbox sender.

    Written in the same transaction as the change it reports (and the limits it counts);
    the table's stream hands each new item to the sender. ``message_id`` is the
    idempotency key: the sender claims an item by a conditional write before it sends,
    so a message is never sent twice. Once sent, what it said and to whom is removed.
    """

    class Meta(_Base.Meta):
        table_name = "outbox"
        stream_view_type = "NEW_IMAGE"

    message_id = UnicodeAttribute(hash_key=True)
    channel = UnicodeAttribute()  # email | sms
    kind = UnicodeAttribute()  # notice | reminder | decoy (nothing is sent: equal work only)
    destination = UnicodeAttribute(null=True)  # removed once sent
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # queued | sending | sent | skipped | failed
    attempts = NumberAttribute(default=0)
    lease_until = NumberAttribute(null=True)  # a sender holds it until then
    failure = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    sent_at = NumberAttribute(null=True)
    expires_at = TTLAttribute()


ALL_MODELS: tuple[type[_Base], ...] = (
    AccountModel,
    ClaimModel,
    FlowModel,
    SessionModel,
    CounterModel,
    SuppressionModel,
    AuditModel,
    OutboxModel,
    PasskeyModel,
)
LOGICAL_NAMES = {model: model.Meta.table_name for model in ALL_MODELS}


def bind(settings: Settings) -> None:
    """Point every model at this stage's tables and region."""
    for model, logical in LOGICAL_NAMES.items():
        name = settings.table(logical)
        if (model.Meta.table_name, model.Meta.region) != (name, settings.region):
            model.Meta.table_name = name
            model.Meta.region = settings.region
            model._connection = None  # PynamoDB caches the connection with the old name


def create_tables(settings: Settings) -> None:
    """Create every missing table, on demand, with TTL on ``expires_at`` (local stage, tests)."""
    from pynamodb.exceptions import TableError

    bind(settings)
    for model in ALL_MODELS:
        try:
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        except TableError as exc:
            if exc.cause_response_code != "ResourceInUseException":  # already there: keep it
                raise
