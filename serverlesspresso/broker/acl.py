"""Who may do what on the local broker: the backend publishes, signed-in people subscribe (pure, no amqtt).

The subscription rules are chalicelib.domain.live's, shared with the IoT Core policy. On top of them:

* PUBLISH is the backend's alone (anywhere under ``serverlesspresso/``). A person's PUBLISH makes the broker drop
  the message and close that connection, without a PUBACK, which is what IoT Core does with a publish its policy
  denies.
* RECEIVE (live, queued and retained messages) is checked against the same filters as SUBSCRIBE, so a persistent
  session resumed with a token that lost the admin group stops getting admin messages.
* A last will counts as a publish the broker makes later on the client's behalf. A person may leave one only on
  their own user topic ``serverlesspresso/users/{sub}`` (a presence note, say); a will anywhere else refuses the
  CONNECT with rc=5. The backend may leave one anywhere it may publish.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.live import TOPIC_ROOT, allowed_subscriptions, filter_covers, may_subscribe, user_topic

BACKEND_IDENTITY = "backend"
MAX_PAYLOAD_BYTES = 128 * 1024  # IoT Core's limit for one message
_BACKEND_FILTER = f"{TOPIC_ROOT}/#"
# Characters that would turn a `sub` into a different or wider topic filter.
_UNSAFE_IN_SUB = frozenset("/+#\0")


def is_topic_name(topic: str) -> bool:
    """A concrete topic one may publish to: not empty, no wildcards, no `$` system prefix."""
    return bool(topic) and "+" not in topic and "#" not in topic and "\0" not in topic and not topic.startswith("$")


def is_safe_sub(sub: str) -> bool:
    return bool(sub) and not (_UNSAFE_IN_SUB & set(sub))


@dataclass(frozen=True)
class Principal:
    """The authenticated party behind one MQTT connection."""

    sub: str
    username: str
    is_admin: bool = False
    is_backend: bool = False
    # The token's `exp` (seconds since the epoch): the broker closes the connection then, as IoT Core does with the
    # authorizer's disconnectAfterInSeconds. None for the backend's credential, which does not expire.
    expires_at: float | None = None
    _receive_filters: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        filters = (_BACKEND_FILTER,) if self.is_backend else tuple(allowed_subscriptions(self.sub, self.is_admin))
        object.__setattr__(self, "_receive_filters", filters)

    @classmethod
    def backend(cls, username: str) -> Principal:
        return cls(sub="", username=username, is_backend=True)

    @classmethod
    def person(cls, sub: str, username: str, is_admin: bool, expires_at: float | None = None) -> Principal:
        return cls(sub=sub, username=username, is_admin=is_admin, expires_at=expires_at)

    def seconds_left(self, now: float) -> float | None:
        """How long this principal's connection may last from `now` (None: no limit; 0: over)."""
        return None if self.expires_at is None else max(0.0, self.expires_at - now)

    @property
    def identity(self) -> str:
        """Who owns a client id: a persistent session is only resumed (or taken over) by the same identity."""
        return BACKEND_IDENTITY if self.is_backend else f"user:{self.sub}"

    def may_subscribe(self, topic_filter: str) -> bool:
        if self.is_backend:
            return filter_covers(_BACKEND_FILTER, topic_filter)
        return may_subscribe(self.sub, self.is_admin, topic_filter)

    def may_receive(self, topic: str) -> bool:
        return any(filter_covers(allowed, topic) for allowed in self._receive_filters)

    def may_publish(self, topic: str) -> bool:
        return self.is_backend and is_topic_name(topic) and filter_covers(_BACKEND_FILTER, topic)

    def may_leave_will(self, topic: str) -> bool:
        if self.is_backend:
            return self.may_publish(topic)
        return topic == user_topic(self.sub)
