"""Code-aware search: identifiers are findable as written, on both stores."""

from __future__ import annotations

import pytest

from conftest import make_instance, make_message, make_session

OUTPUT = (
    "Traceback: KeyError in pane_pid while reading snake_case_name from foo.bar; "
    "see SessionRepository.create_session and CamelCaseWidget"
)


@pytest.mark.parametrize(
    "query",
    ["pane_pid", "snake_case_name", "foo.bar", "CamelCaseWidget", "camelcasewidget",
     "SessionRepository.create_session", "KeyError"],
)  # fmt: skip
def test_identifiers_in_agent_output_are_found_as_written(repo, workspace, query):
    repo.create_session(
        workspace, make_session(instances=[make_instance(0, output=OUTPUT)])
    )
    repo.create_session(workspace, make_session("unrelated", messages=[make_message()]))
    hits = repo.search(workspace, query)
    assert [(h.session_id, h.kind, h.instance_id) for h in hits] == [
        ("session_1", "output", 0)
    ]
    assert "[" in hits[0].snippet and "]" in hits[0].snippet


def test_a_partial_identifier_does_not_match_a_different_one(repo, workspace):
    repo.create_session(
        workspace, make_session(instances=[make_instance(0, output=OUTPUT)])
    )
    assert repo.search(workspace, "pane_pids") == []
    assert repo.search(workspace, "pid_pane") == []
