"""Sign-in use cases with a fake clock: sign-up, SMS codes, limits, tokens, refresh, sign-out, admins."""

from __future__ import annotations

import logging

import jwt
import pytest
from signin_testkit import START, Codes, FakeClock

from chalicelib.adapters.auth import JwksFileKeys, JwtVerifier
from chalicelib.domain.errors import Unauthorized
from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider
from serverlesspresso.signin import rules
from serverlesspresso.signin.service import (
    SELECT_CHALLENGE,
    SMS_OTP,
    AdminDirectory,
    CodeMismatch,
    InvalidParameter,
    LimitExceeded,
    NotAuthorized,
    SignInService,
    UsernameExists,
    UserNotFound,
)
from serverlesspresso.signin.store import SignInStore

PHONE = "+14155550123"
OTHER = "+12025550199"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def signed_in(signin: SignInService, codes: Codes, phone: str = PHONE):
    challenge = signin.start(phone, SMS_OTP)
    return signin.confirm(challenge.session, phone, codes.last)


# ----- sign-up ------------------------------------------------------------------------------------


def test_sign_up_confirms_at_once_with_a_random_sub(signin: SignInService, store: SignInStore) -> None:
    sub = signin.sign_up(PHONE)
    other = signin.sign_up(OTHER)
    assert sub != other and len(sub) == 36
    with store.transaction(write=False) as tx:
        assert tx.user_by_phone(PHONE).sub == sub


def test_signing_up_twice_is_refused(signin: SignInService) -> None:
    signin.sign_up(PHONE)
    with pytest.raises(UsernameExists):
        signin.sign_up(PHONE)


@pytest.mark.parametrize("bad", ["4155550123", "+1 415 555 0123", "+15555550123", "alice"])
def test_sign_up_needs_a_valid_e164_number(signin: SignInService, bad: str) -> None:
    with pytest.raises(InvalidParameter, match="E.164|valid phone number|not a phone number"):
        signin.sign_up(bad)


# ----- the code -----------------------------------------------------------------------------------


def test_a_code_goes_to_the_outbox_and_the_log(
    signin: SignInService, store: SignInStore, codes: Codes, caplog: pytest.LogCaptureFixture
) -> None:
    signin.sign_up(PHONE)
    caplog.set_level(logging.INFO, logger="serverlesspresso.signin")
    challenge = signin.start(PHONE, SMS_OTP)
    assert challenge.name == SMS_OTP and challenge.destination == "+*******0123"
    with store.transaction(write=False) as tx:
        [entry] = tx.outbox(PHONE)
    assert entry.code == codes.last and entry.valid_until == START + rules.CODE_TTL_SECONDS
    lines = [r.getMessage() for r in caplog.records if r.name == "serverlesspresso.signin"]
    assert any(PHONE in line and codes.last in line and "valid until" in line for line in lines)
    # The whole number appears only in the outbox line.
    assert all(codes.last in line for line in lines if PHONE in line)


def test_the_right_code_signs_in(signin: SignInService, codes: Codes, identity: LocalIdentityProvider) -> None:
    sub = signin.sign_up(PHONE)
    tokens = signed_in(signin, codes)
    assert tokens.refresh_token and tokens.expires_in == 3600
    actor = JwtVerifier(JwksFileKeys(str(identity.jwks_path)), ISSUER, AUDIENCE).verify(tokens.id_token)
    assert actor.sub == sub and actor.username == sub and not actor.is_admin
    id_claims, access_claims = claims(tokens.id_token), claims(tokens.access_token)
    assert id_claims["phone_number"] == PHONE and id_claims["phone_number_verified"] is True
    assert id_claims["cognito:username"] == sub and id_claims["token_use"] == "id" and id_claims["aud"] == AUDIENCE
    assert id_claims["exp"] - id_claims["iat"] == 3600 and id_claims["auth_time"] == int(START)
    assert "cognito:groups" not in id_claims  # as Cognito: absent for someone in no group
    assert access_claims["token_use"] == "access" and access_claims["client_id"] == AUDIENCE
    assert access_claims["scope"] == "aws.cognito.signin.user.admin" and access_claims["username"] == sub
    assert access_claims["origin_jti"] == id_claims["origin_jti"] and access_claims["jti"] != id_claims["jti"]
    assert id_claims["event_id"] == access_claims["event_id"]


def test_the_api_refuses_the_access_token(signin: SignInService, codes: Codes, identity: LocalIdentityProvider):
    signin.sign_up(PHONE)
    tokens = signed_in(signin, codes)
    verifier = JwtVerifier(JwksFileKeys(str(identity.jwks_path)), ISSUER, AUDIENCE)
    with pytest.raises(Unauthorized, match="not valid|ID token"):
        verifier.verify(tokens.access_token)


def test_unknown_people_are_told_so(signin: SignInService) -> None:
    with pytest.raises(UserNotFound):
        signin.start(PHONE, SMS_OTP)


def test_a_wrong_code_leaves_the_session_usable(signin: SignInService, codes: Codes) -> None:
    signin.sign_up(PHONE)
    challenge = signin.start(PHONE, SMS_OTP)
    with pytest.raises(CodeMismatch):
        signin.confirm(challenge.session, PHONE, codes.wrong())
    with pytest.raises(CodeMismatch):
        signin.confirm(challenge.session, PHONE, codes.wrong())
    assert signin.confirm(challenge.session, PHONE, codes.last).id_token


def test_the_third_wrong_code_ends_the_session(signin: SignInService, codes: Codes) -> None:
    signin.sign_up(PHONE)
    challenge = signin.start(PHONE, SMS_OTP)
    for _ in range(2):
        with pytest.raises(CodeMismatch):
            signin.confirm(challenge.session, PHONE, codes.wrong())
    with pytest.raises(NotAuthorized, match="3 times"):
        signin.confirm(challenge.session, PHONE, codes.wrong())
    with pytest.raises(NotAuthorized, match="session is expired"):
        signin.confirm(challenge.session, PHONE, codes.last)


def test_a_session_signs_in_once(signin: SignInService, codes: Codes) -> None:
    signin.sign_up(PHONE)
    challenge = signin.start(PHONE, SMS_OTP)
    signin.confirm(challenge.session, PHONE, codes.last)
    with pytest.raises(NotAuthorized):
        signin.confirm(challenge.session, PHONE, codes.last)


def test_a_code_expires_after_three_minutes(signin: SignInService, codes: Codes, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    challenge = signin.start(PHONE, SMS_OTP)
    clock.advance(rules.CODE_TTL_SECONDS)
    with pytest.raises(NotAuthorized, match="Invalid session for the user, session is expired."):
        signin.confirm(challenge.session, PHONE, codes.last)


def test_an_unknown_session_is_refused(signin: SignInService, codes: Codes) -> None:
    signin.sign_up(PHONE)
    with pytest.raises(NotAuthorized, match="session is expired"):
        signin.confirm("made-up", PHONE, "123456")


def test_the_session_belongs_to_its_username(signin: SignInService, codes: Codes) -> None:
    signin.sign_up(PHONE)
    signin.sign_up(OTHER)
    challenge = signin.start(PHONE, SMS_OTP)
    with pytest.raises(NotAuthorized, match="USERNAME"):
        signin.confirm(challenge.session, OTHER, codes.last)


def test_the_username_may_also_be_the_sub(signin: SignInService, codes: Codes) -> None:
    sub = signin.sign_up(PHONE)
    challenge = signin.start(sub, SMS_OTP)
    assert claims(signin.confirm(challenge.session, PHONE, codes.last).id_token)["sub"] == sub


def test_a_new_code_within_30_seconds_is_refused(signin: SignInService, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    signin.sign_up(OTHER)
    signin.start(PHONE, SMS_OTP)
    clock.advance(12)
    with pytest.raises(LimitExceeded, match="wait 18 seconds"):
        signin.start(PHONE, SMS_OTP)
    signin.start(OTHER, SMS_OTP)  # another phone is not held back
    clock.advance(18)
    assert signin.start(PHONE, SMS_OTP).name == SMS_OTP


def test_at_most_five_codes_per_phone_per_fifteen_minutes(signin: SignInService, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    for _ in range(5):
        signin.start(PHONE, SMS_OTP)
        clock.advance(60)
    with pytest.raises(LimitExceeded, match="5 codes") as refused:
        signin.start(PHONE, SMS_OTP)
    assert "wait 600 seconds" in refused.value.message
    clock.advance(600)
    signin.start(PHONE, SMS_OTP)


def test_a_refused_code_is_not_sent(signin: SignInService, store: SignInStore) -> None:
    signin.sign_up(PHONE)
    signin.start(PHONE, SMS_OTP)
    with pytest.raises(LimitExceeded):
        signin.start(PHONE, SMS_OTP)
    with store.transaction(write=False) as tx:
        assert len(tx.outbox(PHONE)) == 1


def test_without_a_preferred_challenge_the_person_selects_sms(
    signin: SignInService, codes: Codes, store: SignInStore, clock: FakeClock
) -> None:
    signin.sign_up(PHONE)
    choice = signin.start(PHONE, None)
    assert choice.name == SELECT_CHALLENGE and choice.available == (SMS_OTP,)
    with store.transaction(write=False) as tx:
        assert tx.outbox(PHONE) == []  # nothing is sent before the choice
    with pytest.raises(NotAuthorized):
        signin.confirm(choice.session, PHONE, "000000")
    clock.advance(100)
    challenge = signin.choose(choice.session, PHONE, SMS_OTP)
    assert challenge.name == SMS_OTP and challenge.session == choice.session
    clock.advance(rules.CODE_TTL_SECONDS - 1)  # the code has its own three minutes
    assert signin.confirm(challenge.session, PHONE, codes.last).id_token


def test_choosing_twice_is_refused(signin: SignInService) -> None:
    signin.sign_up(PHONE)
    choice = signin.start(PHONE, None)
    signin.choose(choice.session, PHONE, SMS_OTP)
    with pytest.raises(InvalidParameter, match="already chosen"):
        signin.choose(choice.session, PHONE, SMS_OTP)


@pytest.mark.parametrize("challenge", ["EMAIL_OTP", "PASSWORD", "WEB_AUTHN"])
def test_other_challenges_are_not_available_locally(signin: SignInService, challenge: str) -> None:
    signin.sign_up(PHONE)
    with pytest.raises(InvalidParameter, match=f"{challenge} is not available"):
        signin.start(PHONE, challenge)
    choice = signin.start(PHONE, None)
    with pytest.raises(InvalidParameter, match="SMS_OTP"):
        signin.choose(choice.session, PHONE, challenge)


def test_email_otp_says_why(signin: SignInService) -> None:
    signin.sign_up(PHONE)
    with pytest.raises(InvalidParameter, match="phone number") as refused:
        signin.start(PHONE, "EMAIL_OTP")
    assert "outbox" in refused.value.message


# ----- refresh, revoke, sign-out ------------------------------------------------------------------


def test_refresh_gives_new_tokens_of_the_same_sign_in(signin: SignInService, codes: Codes, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    first = signed_in(signin, codes)
    clock.advance(3000)
    again = signin.refresh(first.refresh_token)
    assert again.refresh_token is None
    old, new = claims(first.id_token), claims(again.id_token)
    assert new["origin_jti"] == old["origin_jti"] and new["auth_time"] == old["auth_time"]
    assert new["iat"] == old["iat"] + 3000 and new["jti"] != old["jti"]


def test_groups_show_in_tokens_issued_after_the_change(
    signin: SignInService, codes: Codes, admins: AdminDirectory
) -> None:
    signin.sign_up(PHONE)
    first = signed_in(signin, codes)
    assert admins.add(PHONE) is True
    assert "cognito:groups" not in claims(first.id_token)  # issued before
    refreshed = signin.refresh(first.refresh_token)
    assert claims(refreshed.id_token)["cognito:groups"] == ["admin"]
    assert claims(refreshed.access_token)["cognito:groups"] == ["admin"]
    admins.remove(PHONE)
    assert "cognito:groups" not in claims(signin.refresh(first.refresh_token).id_token)


def test_an_admin_added_before_sign_up_is_an_admin_at_first_sign_in(
    signin: SignInService, codes: Codes, admins: AdminDirectory
) -> None:
    admins.add(PHONE)
    assert [(a.phone, a.sub) for a in admins.list()] == [(PHONE, None)]
    sub = signin.sign_up(PHONE)
    assert claims(signed_in(signin, codes).id_token)["cognito:groups"] == ["admin"]
    assert [(a.phone, a.sub) for a in admins.list()] == [(PHONE, sub)]


def test_unknown_refresh_tokens_are_refused(signin: SignInService) -> None:
    with pytest.raises(NotAuthorized, match="Invalid Refresh Token"):
        signin.refresh("nope")


def test_refresh_tokens_last_thirty_days(signin: SignInService, codes: Codes, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    tokens = signed_in(signin, codes)
    clock.advance(rules.REFRESH_TTL_SECONDS - 1)
    signin.refresh(tokens.refresh_token)
    clock.advance(1)
    with pytest.raises(NotAuthorized, match="expired"):
        signin.refresh(tokens.refresh_token)


def test_a_revoked_refresh_token_and_its_access_tokens_stop_working(signin: SignInService, codes: Codes) -> None:
    signin.sign_up(PHONE)
    tokens = signed_in(signin, codes)
    assert signin.profile(tokens.access_token).phone == PHONE
    signin.revoke(tokens.refresh_token)
    signin.revoke(tokens.refresh_token)  # idempotent
    signin.revoke("never-issued")
    with pytest.raises(NotAuthorized, match="revoked"):
        signin.refresh(tokens.refresh_token)
    with pytest.raises(NotAuthorized, match="revoked"):
        signin.profile(tokens.access_token)


def test_revoking_one_sign_in_leaves_the_others(signin: SignInService, codes: Codes, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    phone_a = signed_in(signin, codes)
    clock.advance(30)
    phone_b = signed_in(signin, codes)
    signin.revoke(phone_a.refresh_token)
    assert signin.refresh(phone_b.refresh_token).id_token


def test_global_sign_out_ends_every_sign_in(signin: SignInService, codes: Codes, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    signin.sign_up(OTHER)
    phone_a = signed_in(signin, codes)
    clock.advance(30)
    phone_b = signed_in(signin, codes)
    someone_else = signed_in(signin, codes, OTHER)
    signin.sign_out_everywhere(phone_b.access_token)
    for tokens in (phone_a, phone_b):
        with pytest.raises(NotAuthorized):
            signin.refresh(tokens.refresh_token)
    with pytest.raises(NotAuthorized, match="revoked"):
        signin.sign_out_everywhere(phone_b.access_token)
    assert signin.refresh(someone_else.refresh_token).id_token


def test_access_tokens_are_checked(signin: SignInService, codes: Codes, clock: FakeClock) -> None:
    signin.sign_up(PHONE)
    tokens = signed_in(signin, codes)
    with pytest.raises(NotAuthorized, match="Invalid Access Token"):
        signin.profile(tokens.id_token)
    with pytest.raises(NotAuthorized, match="Invalid Access Token"):
        signin.profile("not-a-jwt")
    clock.advance(3600)
    with pytest.raises(NotAuthorized, match="expired"):
        signin.profile(tokens.access_token)


def test_tokens_from_another_key_are_refused(
    signin: SignInService, codes: Codes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    signin.sign_up(PHONE)
    tokens = signed_in(signin, codes)
    stranger = LocalIdentityProvider(tmp_path_factory.mktemp("stranger"))
    stranger.ensure_keys()
    forged = stranger.sign({**claims(tokens.access_token)})
    with pytest.raises(NotAuthorized, match="Invalid Access Token"):
        signin.profile(forged)


def test_admins_are_listed_in_the_order_they_were_added(admins: AdminDirectory, clock: FakeClock) -> None:
    admins.add(OTHER)
    clock.advance(1)
    admins.add(PHONE)
    assert admins.add(PHONE) is False
    assert [a.phone for a in admins.list()] == [OTHER, PHONE]
    assert admins.remove(OTHER) is True and admins.remove(OTHER) is False
    assert [a.phone for a in admins.list()] == [PHONE]
