"""Sign-in use cases (sign up, passwordless SMS sign-in, refresh, sign-out, admins) over the store, with a clock."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from serverlesspresso.signin import rules
from serverlesspresso.signin.phone import InvalidPhoneNumber, mask, parse_e164
from serverlesspresso.signin.store import Admin, OutboxEntry, RefreshGrant, SignInStore, Transaction, User
from serverlesspresso.signin.tokens import AccessClaims, Identity, InvalidAccessToken, Session, TokenMinter

logger = logging.getLogger("serverlesspresso.signin")

SMS_OTP = "SMS_OTP"
SELECT_CHALLENGE = "SELECT_CHALLENGE"
AVAILABLE_CHALLENGES = (SMS_OTP,)
# Attempts are kept a while past their expiry so a late answer hears "expired" rather than "unknown".
_ATTEMPT_RETENTION_SECONDS = 3600


class SignInError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(SignInError):
    pass


class UsernameExists(SignInError):
    pass


class UserNotFound(SignInError):
    pass


class CodeMismatch(SignInError):
    pass


class NotAuthorized(SignInError):
    pass


class LimitExceeded(SignInError):
    pass


@dataclass(frozen=True)
class Challenge:
    name: str  # SMS_OTP or SELECT_CHALLENGE
    session: str
    destination: str | None = None  # the masked phone number, once a code was sent
    available: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str | None  # only at sign-in: refreshing does not rotate it
    expires_in: int = rules.TOKEN_TTL_SECONDS


@dataclass(frozen=True)
class Profile:
    sub: str
    phone: str


def unavailable(challenge: str) -> InvalidParameter:
    if challenge == "EMAIL_OTP":
        return InvalidParameter(
            "EMAIL_OTP is not available on the local user pool: people sign in with their phone number. "
            "Use SMS_OTP (codes go to the outbox: 'serverlesspresso outbox')."
        )
    return InvalidParameter(f"The challenge {challenge} is not available on the local user pool; use SMS_OTP.")


class SignInService:
    def __init__(
        self,
        store: SignInStore,
        minter: TokenMinter,
        clock: Callable[[], float],
        new_code: Callable[[], str] = rules.new_code,
    ) -> None:
        self._store = store
        self._minter = minter
        self._clock = clock
        self._new_code = new_code

    # ----- sign-up ------------------------------------------------------------------------------

    def sign_up(self, username: str) -> str:
        """A new person, confirmed with a verified phone at once (the deployed pool's pre-sign-up trigger does
        the same). Returns their `sub`."""
        phone = _phone(username)
        with self._store.transaction() as tx:
            if tx.user_by_phone(phone) is not None:
                raise UsernameExists("An account with the given phone_number already exists.")
            user = User(str(uuid.uuid4()), phone, self._clock())
            tx.add_user(user)
        logger.info("%s signed up", mask(phone))
        return user.sub

    # ----- sign-in ------------------------------------------------------------------------------

    def start(self, username: str, preferred: str | None) -> Challenge:
        if preferred and preferred != SMS_OTP:
            raise unavailable(preferred)
        now = self._clock()
        session = rules.new_secret()
        with self._store.transaction() as tx:
            tx.forget_attempts_expired_before(now - _ATTEMPT_RETENTION_SECONDS)
            user = _resolve(tx, username)
            if not preferred:
                tx.save_attempt(rules.digest(session), rules.start(user.sub, user.phone, now, None))
                return Challenge(SELECT_CHALLENGE, session, available=AVAILABLE_CHALLENGES)
            entry = self._send_code(tx, user.phone, now)
            tx.save_attempt(rules.digest(session), rules.start(user.sub, user.phone, now, entry.code))
        self._announce(entry)
        return Challenge(SMS_OTP, session, destination=mask(user.phone))

    def choose(self, session: str, username: str, answer: str) -> Challenge:
        """SELECT_CHALLENGE answered: send the code; the session goes on."""
        if answer != SMS_OTP:
            raise unavailable(answer)
        now = self._clock()
        with self._store.transaction() as tx:
            attempt = self._live_attempt(tx, session, username, now)
            if attempt.code_digest is not None:
                raise InvalidParameter("A challenge was already chosen in this session: answer SMS_OTP.")
            entry = self._send_code(tx, attempt.phone, now)
            tx.save_attempt(rules.digest(session), rules.with_code(attempt, entry.code, now))
        self._announce(entry)
        return Challenge(SMS_OTP, session, destination=mask(attempt.phone))

    def confirm(self, session: str, username: str, code: str) -> Tokens:
        now = self._clock()
        with self._store.transaction() as tx:
            attempt = self._live_attempt(tx, session, username, now)
            outcome = rules.answer(attempt, code, now)
            # Saved before any error is raised: a wrong answer must count even though the call fails.
            tx.save_attempt(rules.digest(session), outcome.attempt)
            if isinstance(outcome, rules.Granted):
                who = Identity(attempt.sub, attempt.phone, tx.is_admin(attempt.phone))
                refresh_token = rules.new_secret()
                grant = RefreshGrant(
                    attempt.sub, str(uuid.uuid4()), str(uuid.uuid4()), int(now), now + rules.REFRESH_TTL_SECONDS
                )
                tx.add_refresh_token(rules.digest(refresh_token), grant)
        match outcome:
            case rules.Mismatch():
                raise CodeMismatch("Invalid code or auth state for the user.")
            case rules.Ended(reason=reason):
                raise NotAuthorized(reason)
        # Granted: signed after the commit, so the write lock is not held while RSA signs.
        logger.info("%s signed in", mask(attempt.phone))
        access, id_token = self._minter.mint(who, _session_of(grant), now)
        return Tokens(access, id_token, refresh_token)

    # ----- tokens -------------------------------------------------------------------------------

    def refresh(self, refresh_token: str) -> Tokens:
        """New access and ID tokens for the same sign-in, with the person's groups as they are now."""
        now = self._clock()
        with self._store.transaction(write=False) as tx:
            grant = tx.refresh_grant(rules.digest(refresh_token))
            if grant is None:
                raise NotAuthorized("Invalid Refresh Token")
            if grant.revoked_at is not None:
                raise NotAuthorized("Refresh Token has been revoked")
            if now >= grant.expires_at:
                raise NotAuthorized("Refresh Token has expired")
            user = tx.user_by_sub(grant.sub)
            if user is None:
                raise NotAuthorized("Invalid Refresh Token")
            who = Identity(user.sub, user.phone, tx.is_admin(user.phone))
        access, id_token = self._minter.mint(who, _session_of(grant), now)
        return Tokens(access, id_token, None)

    def revoke(self, refresh_token: str) -> None:
        """Sign one sign-in out: its refresh token and the access tokens it issued stop working. Revoking an
        unknown or already revoked token succeeds, as OAuth's revocation does (RFC 7009)."""
        with self._store.transaction() as tx:
            tx.revoke_refresh_token(rules.digest(refresh_token), self._clock())

    def sign_out_everywhere(self, access_token: str) -> None:
        now = self._clock()
        with self._store.transaction() as tx:
            claims = self._access(tx, access_token, now)
            tx.revoke_all_refresh_tokens(claims.sub, now)

    def profile(self, access_token: str) -> Profile:
        with self._store.transaction(write=False) as tx:
            claims = self._access(tx, access_token, self._clock())
            user = tx.user_by_sub(claims.sub)
        if user is None:
            raise NotAuthorized("Invalid Access Token")
        return Profile(user.sub, user.phone)

    # ----- helpers ------------------------------------------------------------------------------

    def _send_code(self, tx: Transaction, phone: str, now: float) -> OutboxEntry:
        refused = rules.may_send_code(tx.codes_sent_since(phone, now - rules.CODE_WINDOW_SECONDS), now)
        if refused is not None:
            raise LimitExceeded(refused.message)
        entry = OutboxEntry(phone, self._new_code(), now, now + rules.CODE_TTL_SECONDS)
        tx.add_to_outbox(entry)
        return entry

    def _announce(self, entry: OutboxEntry) -> None:
        # The one log line allowed to carry a whole phone number: it stands in for the SMS itself.
        logger.info("sign-in code for %s: %s (outbox; valid until %s)", entry.phone, entry.code, iso(entry.valid_until))

    def _live_attempt(self, tx: Transaction, session: str, username: str, now: float) -> rules.Attempt:
        attempt = tx.attempt(rules.digest(session))
        if attempt is None or not rules.is_live(attempt, now):
            raise NotAuthorized(rules.EXPIRED_MESSAGE)
        if _resolve(tx, username).sub != attempt.sub:
            raise NotAuthorized("The USERNAME is not the one this session was started for.")
        return attempt

    def _access(self, tx: Transaction, access_token: str, now: float) -> AccessClaims:
        try:
            claims = self._minter.read_access_token(access_token, now)
        except InvalidAccessToken as error:
            raise NotAuthorized(str(error)) from None
        if tx.is_revoked(claims.origin_jti):
            raise NotAuthorized("Access Token has been revoked")
        return claims


class AdminDirectory:
    """Who is in the `admin` group, by phone number; a phone may be added before it ever signs up."""

    def __init__(self, store: SignInStore, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def add(self, phone: str) -> bool:
        with self._store.transaction() as tx:
            return tx.add_admin(phone, self._clock())

    def remove(self, phone: str) -> bool:
        with self._store.transaction() as tx:
            return tx.remove_admin(phone)

    def list(self) -> list[Admin]:
        with self._store.transaction(write=False) as tx:
            return tx.admins()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _phone(username: str) -> str:
    try:
        return parse_e164(username)
    except InvalidPhoneNumber as error:
        raise InvalidParameter(str(error)) from None


def _resolve(tx: Transaction, username: str) -> User:
    """A person by phone number or by their Cognito username (the sub), as Cognito accepts either."""
    user = tx.user_by_sub(username) if _is_uuid(username) else tx.user_by_phone(_phone(username))
    if user is None:
        raise UserNotFound("User does not exist.")
    return user


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _session_of(grant: RefreshGrant) -> Session:
    return Session(grant.origin_jti, grant.event_id, grant.auth_time)
