"""The audit log finds every edit made behind the registry's back, on both backends.

Each test records a small history through the registry, then changes the
database directly with SQL, as someone with write access to it would (after
dropping the append-only triggers), and checks that ``verify()`` names the first
broken entry. The property test makes any single edit to any field of any entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from postgres_server import new_registry_url
from registry_cases import approve, record_release, request

from sdc.release.registry import Decision, open_registry, reads
from sdc.release.registry.audit import AuditEntry, entry_hash

FIELDS = ("seq", "at", "actor", "action", "payload", "prev_hash", "hash")


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_registry_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def reg(registry_url: str) -> Iterator:
    """A registry holding ten entries: r1 released (1-3), r2 released by two approvers
    (4-7), r3 approved once then rejected (8-10)."""
    with open_registry(registry_url) as r:
        record_release(r, "r1")
        two = request("r2", required=2)
        r.decide(two, approve("r2", "bob"))
        r.decide(two, approve("r2", "carol"))
        r.release("r2", {"visits": {"visits.csv": "e" * 64}}, actor="carol")
        three = request("r3", required=2)
        r.decide(three, approve("r3", "bob"))
        r.decide(three, Decision("r3", "carol", "reject", "cell S is 2"))
        assert [e.seq for e in r.audit_entries()] == list(range(1, 11))
        assert r.verify().valid
        yield r


def _drop_guards(reg) -> None:
    """What an administrator would do first: remove the append-only triggers."""
    if reg._d.name == "sqlite":
        names = reg._q("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for (name,) in names:
            reg._q(f"DROP TRIGGER {name}")
    else:
        reg._q("DROP FUNCTION sdc_append_only() CASCADE")


def _tamper(reg, *statements: str, params: tuple = ()) -> None:
    _drop_guards(reg)
    for s in statements:
        reg._q(s, params or None) if "?" in s else reg._q(s)


def _broken(reg) -> int | None:
    result = reg.verify()
    assert result.valid == (result.first_broken is None)
    return result.first_broken


def _entry(reg, seq: int) -> AuditEntry:
    return next(e for e in reg.audit_entries() if e.seq == seq)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", "'mallory'"),
        ("at", "'2020-01-01T00:00:00+00:00'"),
        ("action", "'release'"),
        ("payload", "'{}'"),
        ("prev_hash", "'" + "0" * 64 + "'"),
        ("hash", "'" + "f" * 64 + "'"),
    ],
)
def test_an_edited_entry_is_named(reg, field: str, value: str) -> None:
    _tamper(reg, f"UPDATE audit_log SET {field} = {value} WHERE seq = 5")
    assert _broken(reg) == 5
    assert "entry 5" in reg.verify().message()


def test_a_deleted_entry_is_named(reg) -> None:
    _tamper(reg, "DELETE FROM audit_log WHERE seq = 5")
    assert _broken(reg) == 5
    assert "missing" in reg.verify().problem


def test_deleting_the_last_entry_and_its_record_is_seen_from_the_head(reg) -> None:
    _tamper(
        reg, "DELETE FROM decisions WHERE audit_seq = 10", "DELETE FROM audit_log WHERE seq = 10"
    )
    assert _broken(reg) == 10


def test_a_log_rewritten_consistently_is_seen_only_from_a_head_kept_elsewhere(reg) -> None:
    """The limit of any hash chain: whoever rewrites the last entry, its record and the
    head together leaves a valid chain. The head kept outside the registry differs."""
    kept = reg.head()
    ninth = _entry(reg, 9)
    _tamper(
        reg,
        "DELETE FROM decisions WHERE audit_seq = 10",
        "DELETE FROM audit_log WHERE seq = 10",
        f"UPDATE audit_head SET seq = 9, hash = '{ninth.hash}'",
    )
    result = reg.verify()
    assert result.valid and (result.head_seq, result.head_hash) != kept


def test_an_entry_appended_behind_the_registrys_back_is_named(reg) -> None:
    last = _entry(reg, 10)
    at, payload = "2030-01-01T00:00:00+00:00", '{"request_id":"r3"}'
    forged = entry_hash(11, at, "mallory", "release", payload, last.hash)
    _tamper(
        reg,
        "INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        params=(11, at, "mallory", "release", payload, last.hash, forged),
    )
    assert _broken(reg) == 11


def test_an_entry_inserted_in_the_middle_is_named(reg) -> None:
    """Entries 5.. move up by one and a copy of entry 5 with a forged time, correctly
    chained to entry 4, takes its place: the moved entry 6 no longer fits."""
    fifth, fourth = _entry(reg, 5), _entry(reg, 4)
    at = "2030-01-01T00:00:00+00:00"
    forged = entry_hash(5, at, fifth.actor, fifth.action, fifth.payload, fourth.hash)
    _tamper(
        reg,
        "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 5",
        "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100",
    )
    reg._q(
        "INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (5, at, fifth.actor, fifth.action, fifth.payload, fourth.hash, forged),
    )
    assert _broken(reg) == 6


def test_reordered_entries_are_named(reg) -> None:
    _tamper(
        reg,
        "UPDATE audit_log SET seq = 0 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = 0",
    )
    assert _broken(reg) == 4


@pytest.mark.parametrize(
    ("statement", "seq"),
    [
        ("UPDATE decisions SET reason = 'fine' WHERE audit_seq = 5", 5),
        ("UPDATE decisions SET covers = '[\"visits\"]' WHERE audit_seq = 9", 9),
        ("UPDATE requests SET author = 'bob' WHERE request_id = 'r1'", 1),
        ("UPDATE outputs SET definition = '{}' WHERE request_id = 'r2'", 4),
        ("UPDATE outputs SET verdict = 'review' WHERE request_id = 'r3'", 8),
        ("DELETE FROM released_files WHERE request_id = 'r1'", 3),
        ("UPDATE released_files SET sha256 = '" + "0" * 64 + "' WHERE request_id = 'r2'", 7),
        ("DELETE FROM decisions WHERE audit_seq = 6", 6),
        (
            "INSERT INTO decisions (audit_seq, request_id, checker, action, reason, covers) "
            "VALUES (40, 'r3', 'dave', 'approve', 'ok', '[]')",
            40,
        ),
        ("INSERT INTO releases (request_id, audit_seq) VALUES ('r3', 50)", 50),
    ],
)
def test_an_edited_record_is_named_by_its_entry(reg, statement: str, seq: int) -> None:
    _tamper(reg, statement)
    assert _broken(reg) == seq


# PostgreSQL text holds no NUL; lone surrogates are not text any encoding can store
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=70)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_edit_of_any_entry_field_is_detected(reg, data: st.DataObject) -> None:
    """Each edit runs in a transaction that is rolled back after the check (triggers
    included: DDL is transactional on both backends)."""
    entries = reg.audit_entries()
    target = data.draw(st.sampled_from(entries), label="entry")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    old = getattr(target, field)
    if field == "seq":
        taken = {e.seq for e in entries}
        new = data.draw(st.integers(-(2**40), 2**40).filter(lambda v: v not in taken))
    else:
        flip = st.integers(0, max(len(old) - 1, 0)).map(
            lambda i: old[:i] + ("x" if old[i : i + 1] != "x" else "y") + old[i + 1 :]
        )
        new = data.draw(st.one_of(flip, _TEXT).filter(lambda v: v != old), label="value")
    reg._d.begin_write(reg._conn)
    try:
        _drop_guards(reg)
        reg._q(f"UPDATE audit_log SET {field} = ? WHERE seq = ?", (new, target.seq))
        result = reads.verify(reg._q)
    finally:
        reg._conn.execute("ROLLBACK")
    assert not result.valid
    if field == "seq":
        assert result.first_broken is not None and result.first_broken <= target.seq
    else:
        assert result.first_broken == target.seq
    assert reg.verify().valid  # rolled back
