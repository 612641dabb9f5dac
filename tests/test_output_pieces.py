"""Agent output in pieces: where the cuts fall, what a save or an append rewrites, and what
search finds and ranks across pieces (``ait42_session.pieces``, migration 0010)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apsw
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ait42_session import SqliteSessionRepository
from ait42_session.fulltext import token_spans
from ait42_session.pieces import LEAD_TOKENS, PIECE_CHARS, pieces
from conftest import make_instance, make_session, open_store
from test_sqlite_store import assert_forgotten, fresh_searches, old_database

# Text with long and short lines, runs without whitespace, and non-ASCII words.
_words = st.sampled_from(["alpha", "beta", "ü", "日本語", "x" * 40, "a.b.c", "🙂", "\t"])
_units = st.lists(
    st.tuples(_words, st.sampled_from([" ", "\n", "", "  "])), min_size=1, max_size=40
).map(lambda parts: "".join(w + sep for w, sep in parts))


@st.composite
def _texts(draw: st.DrawFn) -> str:
    """Texts of up to four pieces and more: a random unit of words repeated to a random
    length (random texts alone would rarely reach one cut)."""
    unit = draw(_units)
    length = draw(st.integers(0, 4)) * PIECE_CHARS + draw(st.integers(0, PIECE_CHARS))
    return (unit * (length // len(unit) + 1))[:length]


def _cuts(text: str) -> list[tuple[int, int]]:
    return [(p.start, p.end) for p in pieces(text)]


@settings(max_examples=60, deadline=None)
@given(_texts(), _texts())
def test_pieces_cover_the_text_and_a_grown_text_keeps_every_cut_but_the_last(
    text: str, more: str
) -> None:
    cuts = _cuts(text)
    assert "".join(text[a:b] for a, b in cuts) == text
    assert all(b - a >= PIECE_CHARS or b == len(text) for a, b in cuts)
    assert all(text[b - 1] in " \n" for _, b in cuts[:-1])
    # each cut is at the first space or newline that ends a long enough piece
    first = [text[a + PIECE_CHARS - 1 : b - 1] for a, b in cuts]
    assert not any(" " in gap or "\n" in gap for gap in first)
    assert _cuts(text + more)[: max(0, len(cuts) - 1)] == cuts[:-1]


@settings(max_examples=60, deadline=None)
@given(_texts())
def test_a_lead_holds_the_tokens_before_its_piece_and_a_window_finds_the_same(
    text: str,
) -> None:
    for piece in pieces(text):
        before = token_spans(text[: piece.start])
        lead = token_spans(text[piece.lead : piece.start])
        assert len(lead) == min(LEAD_TOKENS, len(before))
        if piece.lead:
            assert piece.lead == before[-LEAD_TOKENS][0]
        # the window an append reads (the stored lead, then the text) cuts the same
        window = text[piece.lead :]
        again = [
            (p.lead + piece.lead, p.start + piece.lead, p.end + piece.lead)
            for p in pieces(window, piece.start - piece.lead)
        ]
        assert again == [tuple(p) for p in pieces(text, piece.start)]


def _log(lines: int, word: str = "line") -> str:
    return "".join(f"{word} {n}: compiled module_{n} and ran its tests\n" for n in range(lines))


def _piece_writes(repo: SqliteSessionRepository) -> Any:
    con = repo.pool.connection()
    con.execute(
        "CREATE TEMP TABLE IF NOT EXISTS written (piece INTEGER, how TEXT);"
        "CREATE TEMP TRIGGER IF NOT EXISTS piece_updated AFTER UPDATE ON main.output_pieces "
        "BEGIN INSERT INTO written VALUES (new.pk % 1048576, 'update'); END;"
        "CREATE TEMP TRIGGER IF NOT EXISTS piece_inserted AFTER INSERT ON main.output_pieces "
        "BEGIN INSERT INTO written VALUES (new.pk % 1048576, 'insert'); END;"
        "CREATE TEMP TRIGGER IF NOT EXISTS piece_deleted AFTER DELETE ON main.output_pieces "
        "BEGIN INSERT INTO written VALUES (old.pk % 1048576, 'delete'); END;"
        "DELETE FROM written;"
    )
    return lambda: con.execute("SELECT piece, how FROM written ORDER BY rowid").fetchall()


def test_an_append_rewrites_the_last_piece_and_adds_new_ones_only(
    tmp_path: Path, workspace: str
) -> None:
    output = _log(40_000)  # about 2 MB
    count = len(list(pieces(output)))
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repo:
        repo.create_session(workspace, make_session("s", instances=[make_instance(0, output=output)]))
        written = _piece_writes(repo)
        repo.append_instance_output(workspace, "s", 0, "tail okapiappend\n")
        assert written() == [(count - 1, "update")]
        big = "y" * 100 + " " + _log(1000, "more")  # crosses at least one more cut
        repo.append_instance_output(workspace, "s", 0, big)
        grown = output + "tail okapiappend\n" + big
        now = [p.start for p in pieces(grown)]
        assert [(n, "update" if n == count - 1 else "insert") for n in range(count - 1, len(now))] == written()[1:]
        assert repo.get_session(workspace, "s").instances[0].output == grown
        assert [h.instance_id for h in repo.search(workspace, "okapiappend")] == [0]
        assert repo.pool.verify_integrity()


def test_a_save_rewrites_from_the_first_changed_piece_and_drops_what_is_past_the_end(
    tmp_path: Path, workspace: str
) -> None:
    output = _log(3000)  # eight pieces or so
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repo:
        session = repo.create_session(workspace, make_session("s", instances=[
            make_instance(0, output=output), make_instance(1, output=_log(3000, "other"))]))  # fmt: skip
        cuts = [p.start for p in pieces(output)]
        written = _piece_writes(repo)
        middle = output.index("line 1500:")
        changed = output[:middle] + "LINE" + output[middle + 4 :]
        first = max(n for n, start in enumerate(cuts) if start <= middle)
        edited = msgspec.structs.replace(session, instances=[
            msgspec.structs.replace(session.instances[0], output=changed), session.instances[1]])  # fmt: skip
        repo.update_session(workspace, edited)
        assert written() == [(n, "update") for n in range(first, len(cuts))]

        written = _piece_writes(repo)
        short = changed[: cuts[2] + 10]
        repo.update_session(workspace, msgspec.structs.replace(edited, instances=[
            msgspec.structs.replace(edited.instances[0], output=short), edited.instances[1]]))  # fmt: skip
        assert written() == [(n, "delete") for n in range(3, len(cuts))] + [(2, "update")]
        assert repo.get_session(workspace, "s").instances[0].output == short
        # the dropped tail's words left the index with it; the other output keeps its own
        assert [h.instance_id for h in repo.search(workspace, "module_2999")] == [1]
        assert repo.pool.verify_integrity()


@pytest.mark.parametrize("kind", ["json", "sqlite", "postgres"])
def test_matches_across_cuts_are_found_as_in_one_text(
    kind: str, tmp_path: Path, workspace: str
) -> None:
    # "okapi across" spans the first cut; "zebra" opens the output, "gnu" ends it, far apart
    text = "zebra " + "word " * 3274 + "lynx okapi across " + "tail " * 8000 + "gnu"
    cut = next(pieces(text)).end
    assert text.index("okapi") < cut <= text.index("across") and len(list(pieces(text))) > 2
    with open_store(kind, tmp_path) as repo:
        repo.create_session(
            workspace, make_session("s", instances=[make_instance(0, output=text)])
        )
        for query in ("okapi.across", "lynx-okapi-across", "zebra gnu", "gnu lynx zebra"):
            hits = [(h.kind, h.instance_id) for h in repo.search(workspace, query)]
            assert hits == [("output", 0)], query
        assert repo.search(workspace, "zebra nowhere") == []
        assert repo.search(workspace, "zebra.gnu") == []  # one term: a phrase


@pytest.mark.parametrize("kind", ["json", "sqlite"])
def test_an_output_is_ranked_by_its_best_piece(kind: str, tmp_path: Path, workspace: str) -> None:
    """Deliberately: ten occurrences spread one to a piece rank below three in one piece,
    where counting over the whole output would put them first."""
    filler = _log(400)
    spread = "".join(f"okapi {filler}" for _ in range(10))
    dense = "okapi okapi okapi " + filler * 10
    with open_store(kind, tmp_path) as repo:
        repo.create_session(workspace, make_session("s", instances=[
            make_instance(0, output=spread), make_instance(1, output=dense)]))  # fmt: skip
        assert [h.instance_id for h in repo.search(workspace, "okapi")] == [1, 0]


def test_a_database_of_schema_9_upgrades_to_outputs_in_pieces_with_the_same_answers(
    tmp_path: Path, workspace: str
) -> None:
    long_output = _log(2000, "okapipiece")  # several pieces
    sessions = [
        make_session("long", instances=[make_instance(0, output=long_output),
                                        make_instance(1, output="short okapipiece"),
                                        make_instance(2, output=None), make_instance(3, output="")]),
        make_session("other", instances=[make_instance(0, output="okapipiece 7 " * 50)]),
    ]  # fmt: skip
    queries = ("okapipiece", '"module_1999 and"', "module_3 okapipiece")
    old_database(tmp_path / "old.db", 9, workspace, sessions)
    expected = fresh_searches(tmp_path, workspace, sessions, queries)

    with SqliteSessionRepository.with_path(tmp_path / "old.db") as repo:
        con = repo.pool.connection()
        assert con.execute("SELECT count(*) FROM output_pieces").get == len(list(pieces(long_output))) + 2
        assert {s.id: s.to_json() for s in repo.get_all_sessions(workspace)} == {
            s.id: s.to_json() for s in sessions
        }
        assert [repo.search(workspace, q) for q in queries] == expected
        repo.append_instance_output(workspace, "long", 2, "now set")
        repo.append_instance_output(workspace, "long", 0, "okapiafter\n")
        stored = repo.get_session(workspace, "long")
        assert [i.output for i in stored.instances] == [
            long_output + "okapiafter\n", "short okapipiece", "now set", ""]
        assert repo.pool.verify_integrity()
        assert_forgotten(repo, workspace, "long", "module_1999", tmp_path / "old.db")


def test_outputs_in_pieces_hold_no_other_shape_in_the_schema(tmp_path: Path) -> None:
    """A piece's pk is its instance's times 2^20 plus its number: the schema refuses others."""
    with SqliteSessionRepository.with_path(tmp_path / "sessions.db") as repo:
        con = repo.pool.connection()
        with pytest.raises(apsw.ConstraintError):
            con.execute(
                "INSERT INTO output_pieces (pk, number, start, size, digest, lead, body) "
                "VALUES (1048577, 2, 0, 1, x'00', '', 'a')"
            )
