"""Staff accounts and sign-in, usable from views, the CLI and jobs alike.

Sign-in is throttled per account and per client address: after a few failures each
further attempt must wait longer (slow-down), and after ``lockout_failures`` the key is
locked for ``lockout_minutes``. Unknown e-mails are throttled exactly like known ones,
so the answers never reveal which accounts exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.auth.models import LoginThrottle, Role, StaffLanguage, StaffMember, StaffRole, Team
from portal.config import LANGUAGES

_hasher = PasswordHasher()

#: Failures allowed before each attempt has to wait, and the longest such wait.
SLOW_DOWN_AFTER = 3
SLOW_DOWN_MAX = timedelta(seconds=60)
#: A client address may fail this many times more than one account before it is locked.
ADDRESS_FACTOR = 5
MIN_PASSWORD_LENGTH = 12


class StaffError(ValueError):
    """A staff account could not be created or changed as asked."""


@dataclass(frozen=True)
class SignInResult:
    """The outcome of one sign-in attempt."""

    staff: StaffMember | None
    #: Set when the attempt was refused without checking the password.
    retry_after: timedelta | None = None


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def _password_matches(staff: StaffMember, password: str) -> bool:
    try:
        return _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256("{}:{}".format(kind, value.strip().lower()).encode()).hexdigest()


def _throttle(session: Session, digest: str) -> LoginThrottle | None:
    return session.scalar(select(LoginThrottle).where(LoginThrottle.key_digest == digest))


def _wait_left(row: LoginThrottle | None, now: datetime) -> timedelta | None:
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return None
    return row.blocked_until - now


def _record_failure(session: Session, digest: str, now: datetime, lockout_failures: int, lockout: timedelta) -> None:
    row = _throttle(session, digest)
    if row is None:
        row = LoginThrottle(key_digest=digest, failures=0, last_failure_at=now)
        session.add(row)
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= lockout_failures:
        row.blocked_until = now + lockout
    elif row.failures >= SLOW_DOWN_AFTER:
        row.blocked_until = now + min(timedelta(seconds=2 ** (row.failures - SLOW_DOWN_AFTER)), SLOW_DOWN_MAX)


def sign_in(
    session: Session,
    email: str,
    password: str,
    client_address: str,
    now: datetime,
    lockout_failures: int = 10,
    lockout_minutes: int = 15,
) -> SignInResult:
    """Check a password, honouring and updating the throttle. Flushes, never commits."""
    account_key = _digest("account", email)
    address_key = _digest("address", client_address)
    waits = [
        _wait_left(_throttle(session, account_key), now),
        _wait_left(_throttle(session, address_key), now),
    ]
    blocked = [w for w in waits if w is not None]
    if blocked:
        return SignInResult(staff=None, retry_after=max(blocked))

    staff = session.scalar(select(StaffMember).where(StaffMember.email == email.strip().lower()))
    if staff is not None and staff.active and _password_matches(staff, password):
        session.execute(delete(LoginThrottle).where(LoginThrottle.key_digest.in_([account_key, address_key])))
        if _hasher.check_needs_rehash(staff.password_hash):
            staff.password_hash = hash_password(password)
        staff.last_login_at = now
        session.flush()
        return SignInResult(staff=staff)

    lockout = timedelta(minutes=lockout_minutes)
    _record_failure(session, account_key, now, lockout_failures, lockout)
    _record_failure(session, address_key, now, lockout_failures * ADDRESS_FACTOR, lockout)
    session.flush()
    return SignInResult(staff=None)


def unlock(session: Session, email: str) -> bool:
    """Clear an account's failed sign-ins (an admin's remedy). True if it was throttled."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.key_digest == _digest("account", email)))
    return bool(result.rowcount)


def purge_login_throttle(session: Session, now: datetime, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget failures that are old and no longer block anyone. Returns rows removed."""
    cutoff = now - older_than
    result = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < cutoff,
            (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now),
        )
    )
    return int(result.rowcount or 0)


def load_staff(session: Session, user_id: str) -> StaffMember | None:
    """Resolve Flask-Login's ``id:session_version``; a stale version resolves to nobody."""
    staff_id, _, version = user_id.partition(":")
    if not staff_id.isdigit() or not version.isdigit():
        return None
    staff = session.get(StaffMember, int(staff_id))
    if staff is None or staff.session_version != int(version) or not staff.active:
        return None
    return staff


def ensure_team(session: Session, code: str, name: str | None = None) -> Team:
    """The team with ``code``, created when missing (the name is updated when given)."""
    team = session.scalar(select(Team).where(Team.code == code))
    if team is None:
        team = Team(code=code, name=name or code)
        session.add(team)
    elif name:
        team.name = name
    return team


def save_staff(
    session: Session,
    *,
    email: str,
    full_name: str,
    roles: Iterable[str],
    password: str | None = None,
    languages: Iterable[str] = (),
    teams: Iterable[str] = (),
    preferred_locale: str | None = None,
) -> StaffMember:
    """Create a staff member, or bring an existing one (same e-mail) to this state.

    Idempotent, so the demo seed and the CLI can both use it. A new account needs a
    password; an existing one keeps its password unless a new one is given.
    """
    email = email.strip().lower()
    if "@" not in email:
        raise StaffError("not an e-mail address: {!r}".format(email))
    roles = sorted(set(roles))
    unknown_roles = [r for r in roles if r not in {role.value for role in Role}]
    if not roles or unknown_roles:
        raise StaffError("roles must be among {}".format(", ".join(r.value for r in Role)))
    languages = list(dict.fromkeys(languages))
    unknown_languages = [lang for lang in languages if lang not in LANGUAGES]
    if unknown_languages:
        raise StaffError("languages must be among {}".format(", ".join(LANGUAGES)))
    if preferred_locale is not None and preferred_locale not in LANGUAGES:
        raise StaffError("preferred locale must be among {}".format(", ".join(LANGUAGES)))
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError("a password needs at least {} characters".format(MIN_PASSWORD_LENGTH))

    staff = session.scalar(select(StaffMember).where(StaffMember.email == email))
    if staff is None:
        if password is None:
            raise StaffError("a new staff account needs a password")
        staff = StaffMember(email=email, full_name=full_name, password_hash=hash_password(password))
        session.add(staff)
    else:
        staff.full_name = full_name
        if password is not None and not _password_matches(staff, password):
            staff.password_hash = hash_password(password)
            staff.session_version += 1
    staff.preferred_locale = preferred_locale
    staff.roles = [r for r in staff.roles if r.role in roles] + [
        StaffRole(role=r) for r in roles if r not in staff.role_names
    ]
    staff.languages = [lang for lang in staff.languages if lang.language in languages] + [
        StaffLanguage(language=code) for code in languages if code not in staff.language_codes
    ]
    staff.teams = [ensure_team(session, code) for code in teams]
    session.flush()
    return staff
