"""The contract's checks of what callers pass in, shared by every store.

Both stores call these, so they refuse the same arguments with the same words. Each returns
the checked value or raises ValidationError; nothing has been read or written yet when one
fails. (Filters, sort and page checks of queries are in ``queries``; workspace paths in
``workspace``.)
"""

from __future__ import annotations

from .errors import ValidationError
from .models import INSTANCE_STATUSES, ChatMessage, WorktreeSession, checked_text

__all__ = [
    "require_session",
    "require_session_id",
    "require_message",
    "require_instance_id",
    "require_instance_status",
    "require_search",
    "require_output_text",
]


def require_session(session: object) -> WorktreeSession:
    """A WorktreeSession that passes ``validate()``."""
    if not isinstance(session, WorktreeSession):
        raise ValidationError(
            f"session must be a WorktreeSession, got {type(session).__name__}"
        )
    return session.validate()


def require_session_id(session_id: object) -> str:
    if not isinstance(session_id, str) or not session_id:
        raise ValidationError(
            f"session_id must be a non-empty string, got {session_id!r:.80}"
        )
    return session_id


def require_message(message: object) -> ChatMessage:
    """A ChatMessage that passes ``validate()``."""
    if not isinstance(message, ChatMessage):
        raise ValidationError(
            f"message must be a ChatMessage, got {type(message).__name__}"
        )
    return message.validate()


def require_instance_id(instance_id: object) -> int:
    """An integer; one no instance can have (negative, too large) is simply not found."""
    if isinstance(instance_id, bool) or not isinstance(instance_id, int):
        raise ValidationError(
            f"instance_id must be an integer, got {instance_id!r:.80}"
        )
    return instance_id


def require_instance_status(status: object) -> str:
    if not isinstance(status, str) or status not in INSTANCE_STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(INSTANCE_STATUSES)}; got {status!r:.80}"
        )
    return status


def require_output_text(text: object) -> str:
    """Text to append to an agent's output: a string an output may hold."""
    return checked_text(text, "text")


def require_search(text: object, limit: object) -> tuple[str, int]:
    """The search text (any string) and a non-negative integer limit."""
    if not isinstance(text, str):
        raise ValidationError(
            f"search text must be a string, got {type(text).__name__}"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValidationError(
            f"limit must be a non-negative integer, got {limit!r:.80}"
        )
    return text, limit
