"""Every difference between two stores' copies of a session, in the editor's JSON keys.

``DualWriteRepository.verify_consistency`` lists them for a whole workspace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Difference", "diff_sessions"]

_ABSENT = "<absent>"


@dataclass(frozen=True)
class Difference:
    """One difference between the two stores of a DualWriteRepository.

    ``kind``: ``missing_in_primary`` / ``missing_in_secondary`` (a whole session, or an
    instance or message when ``path`` names one), or ``differs`` (a field). ``path`` is the JSON
    path in the editor's keys, e.g. ``status``, ``instances[2].output``, ``chatHistory[0]``
    (empty for a whole session); ``primary``/``secondary`` are the two values.
    """

    session_id: str
    kind: str
    path: str
    primary: Any = None
    secondary: Any = None

    def __str__(self) -> str:
        where = f"session {self.session_id!r}" + (f" {self.path}" if self.path else "")
        if self.kind == "differs":
            return f"{where}: primary {_short(self.primary)} != secondary {_short(self.secondary)}"
        return f"{where}: {self.kind.replace('_', ' ')}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _diff_fields(sid: str, prefix: str, a: dict[str, Any], b: dict[str, Any],
                 skip: tuple[str, ...] = ()) -> list[Difference]:  # fmt: skip
    keys = list(a) + [k for k in b if k not in a]
    out = []
    for key in keys:
        if key in skip:
            continue
        va, vb = a.get(key, _ABSENT), b.get(key, _ABSENT)
        if not _same(va, vb):
            out.append(Difference(sid, "differs", f"{prefix}{key}", va, vb))
    return out


def _diff_children(sid: str, name: str, a: dict[Any, dict[str, Any]],
                   b: dict[Any, dict[str, Any]]) -> list[Difference]:  # fmt: skip
    out = []
    for key in sorted(set(a) | set(b)):
        path = f"{name}[{key}]"
        if key not in b:
            out.append(Difference(sid, "missing_in_secondary", path, a[key], None))
        elif key not in a:
            out.append(Difference(sid, "missing_in_primary", path, None, b[key]))
        else:
            out += _diff_fields(sid, path + ".", a[key], b[key])
    return out


def diff_sessions(sid: str, a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    """Every difference between two sessions in their JSON form (``to_json()``)."""
    out = _diff_fields(sid, "", a, b, skip=("instances", "chatHistory"))
    by_id = lambda items: {i.get("instanceId"): i for i in items}  # noqa: E731
    out += _diff_children(
        sid, "instances", by_id(a["instances"]), by_id(b["instances"])
    )
    by_pos = lambda items: dict(enumerate(items))  # noqa: E731
    out += _diff_children(
        sid, "chatHistory", by_pos(a["chatHistory"]), by_pos(b["chatHistory"])
    )
    return out
