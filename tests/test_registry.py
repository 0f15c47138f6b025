"""The release registry on both backends: what it stores, what it refuses, what it answers.

Every test runs on a SQLite file and on a real PostgreSQL server (``registry_url``,
see ``postgres_server.py``). Expected answers come from what the test recorded,
never from the registry's own computations.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from postgres_server import new_registry_url
from registry_cases import approve, definition, files_of, record_release, request, sha

from sdc.exceptions import SdcInputError, SdcRefusedDecision, SdcRegistryError
from sdc.release.registry import Decision, OutputRecord, RequestRecord, open_registry
from sdc.release.registry.schema import MIGRATIONS, Migration
from sdc.release.registry.store import SqlRegistry


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_registry_url(request.param, tmp_path) as url:
        yield url


def _entries(reg) -> list[tuple[int, str, str]]:
    return [(e.seq, e.actor, e.action) for e in reg.audit_entries()]


def test_a_release_is_stored_whole_and_read_back(registry_url: str) -> None:
    req = request("req-1", verdicts={"visits": "pass", "rates": "review", "ages": "fail"})
    with open_registry(registry_url) as reg:
        state = reg.decide(req, approve("req-1", "bob", covers=("rates",)))
        assert (state.state, state.approvers, state.complete) == ("approved", ("bob",), True)
        files = {
            "visits": {"visits.csv": sha("v"), "visits.svg": sha("s")},
            "rates": {"rates.csv": sha("r")},
        }
        reg.release("req-1", files, actor="bob", other_files={"summary.json": sha("sum")})
    with open_registry(registry_url, create=False) as reg:  # a new connection reads it all
        detail = reg.request("req-1")
        assert detail.request == req
        assert detail.request.outputs[0].definition == definition("visits", "ds-1")
        assert detail.state.state == "released"
        assert [(d.checker, d.action.value, d.reason, d.covers) for d in detail.decisions] == [
            ("bob", "approve", "bob checked every cell", ("rates",))
        ]
        assert detail.release is not None
        assert detail.release.files == files
        assert detail.release.other_files == {"summary.json": sha("sum")}
        assert detail.release.actor == "bob"
        [summary] = reg.releases()
        assert (summary.request_id, summary.author, summary.approvers, summary.outputs) == (
            "req-1",
            "alice",
            ("bob",),
            ("rates", "visits"),
        )
        assert _entries(reg) == [
            (1, "bob", "request"),
            (2, "bob", "decision"),
            (3, "bob", "release"),
        ]
        assert reg.head() == (3, reg.audit_entries()[-1].hash)
        assert reg.verify().valid


def test_the_author_never_approves_and_a_refusal_records_nothing(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        for who in ("alice", "Alice", " ALICE "):
            with pytest.raises(SdcRefusedDecision, match="may not approve"):
                reg.decide(request("req-1"), approve("req-1", who))
        assert _entries(reg) == [] and reg.releases() == []
        with pytest.raises(SdcInputError, match="not in the registry"):
            reg.state("req-1")
        assert reg.decide(request("req-1"), approve("req-1", "bob")).state == "approved"
        assert not reg.state("req-1").may_approve("alice")


def test_two_distinct_approvers(registry_url: str) -> None:
    req = request("req-2", required=2)
    with open_registry(registry_url) as reg:
        first = reg.decide(req, approve("req-2", "bob"))
        assert (first.state, first.awaiting, first.complete) == ("pending", 1, False)
        assert not reg.is_complete("req-2")
        with pytest.raises(SdcRefusedDecision, match="approval"):
            reg.release("req-2", files_of(req), actor="bob")
        with pytest.raises(SdcRefusedDecision, match="another checker"):
            reg.decide(req, approve("req-2", "BOB"))
        second = reg.decide(req, approve("req-2", "carol"))
        assert (second.state, second.approvers, second.awaiting) == (
            "approved",
            ("bob", "carol"),
            0,
        )
        assert reg.is_complete("req-2")
        with pytest.raises(SdcRefusedDecision, match="all its approvals"):
            reg.decide(req, approve("req-2", "dave"))
        reg.release("req-2", files_of(req), actor="carol")
        with pytest.raises(SdcRefusedDecision, match="released already"):
            reg.release("req-2", files_of(req), actor="carol")
        with pytest.raises(SdcRefusedDecision, match="released already"):
            reg.decide(req, Decision("req-2", "erin", "reject", "too late"))
        assert [r.request_id for r in reg.releases()] == ["req-2"]
        assert reg.verify().valid


@pytest.mark.parametrize("action", ["reject", "request-changes"])
def test_a_closed_request_takes_no_decision_and_never_leaves(
    registry_url: str, action: str
) -> None:
    req = request("req-3", required=2)
    with open_registry(registry_url) as reg:
        reg.decide(req, approve("req-3", "bob"))
        state = reg.decide(req, Decision("req-3", "carol", action, "cell N is 3", ["visits"]))
        assert state.state == {"reject": "rejected", "request-changes": "changes-requested"}[action]
        assert not state.complete
        with pytest.raises(SdcRefusedDecision, match="no more decisions"):
            reg.decide(req, approve("req-3", "dave"))
        with pytest.raises(SdcRefusedDecision, match=state.state):
            reg.release("req-3", files_of(req), actor="bob")
        assert reg.releases() == []
        assert [d.action.value for d in reg.decisions("req-3")] == ["approve", action]
        assert reg.released_definitions("ds-1") == []


def test_an_approved_request_can_still_be_rejected_before_it_leaves(registry_url: str) -> None:
    req = request("req-4")
    with open_registry(registry_url) as reg:
        reg.decide(req, approve("req-4"))
        assert reg.decide(req, Decision("req-4", "carol", "reject", "wrong cohort")).state == (
            "rejected"
        )
        with pytest.raises(SdcRefusedDecision):
            reg.release("req-4", files_of(req), actor="bob")


def test_only_passing_and_covered_review_outputs_leave(registry_url: str) -> None:
    req = request("req-5", verdicts={"visits": "pass", "rates": "review", "ages": "fail"})
    with open_registry(registry_url) as reg:
        with pytest.raises(SdcInputError, match="verdict is review"):
            reg.decide(req, approve("req-5", covers=("visits",)))
        with pytest.raises(SdcInputError, match="outputs of request"):
            reg.decide(req, approve("req-5", covers=("nope",)))
        reg.decide(req, approve("req-5"))
        with pytest.raises(SdcRefusedDecision, match="needs review"):
            reg.release("req-5", files_of(req, "visits", "rates"), actor="bob")
        with pytest.raises(SdcRefusedDecision, match="never leaves"):
            reg.release("req-5", files_of(req, "visits", "ages"), actor="bob")
        with pytest.raises(SdcRefusedDecision, match="no output"):
            reg.release("req-5", files_of(req, "other"), actor="bob")
        assert reg.releases() == [] and len(reg.audit_entries()) == 2
        reg.release("req-5", files_of(req, "visits"), actor="bob")
        assert [d.name for d in reg.released_definitions("ds-1")] == ["visits"]


def test_a_review_output_leaves_with_an_approval_that_covers_it(registry_url: str) -> None:
    req = request("req-6", verdicts={"rates": "review"}, required=2)
    with open_registry(registry_url) as reg:
        reg.decide(req, approve("req-6", "bob"))
        reg.decide(req, approve("req-6", "carol", covers=("rates",)))
        reg.release("req-6", files_of(req, "rates"), actor="carol")
        assert reg.request("req-6").release.files == files_of(req, "rates")


def test_a_changed_request_needs_a_new_id(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        reg.decide(request("req-7", required=2), approve("req-7", "bob"))
        changed = request("req-7", verdicts={"visits": "pass", "more": "pass"}, required=2)
        with pytest.raises(SdcRefusedDecision, match="outputs differ"):
            reg.decide(changed, approve("req-7", "carol"))
        assert reg.state("req-7").approvers == ("bob",)


def test_released_definitions_of_a_dataset(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        record_release(reg, "r1", dataset="ds-A")
        record_release(reg, "r2", dataset="ds-B")
        reg.decide(request("r3", dataset="ds-A"), approve("r3"))  # approved, not released
        two = request("r4", verdicts={"a": "pass", "b": "pass", "c": "fail"}, dataset="ds-A")
        reg.decide(two, approve("r4"))
        reg.release("r4", files_of(two, "b", "a"), actor="bob")
        found = reg.released_definitions("ds-A")
        assert [(d.request_id, d.name) for d in found] == [
            ("r1", "visits"),
            ("r4", "a"),
            ("r4", "b"),
        ]
        assert found[1].definition == definition("a", "ds-A")
        assert found[0].release_seq < found[1].release_seq
        assert reg.released_definitions("ds-C") == []


def test_records_are_validated_before_anything_is_written() -> None:
    with pytest.raises(SdcInputError, match="SHA-256"):
        RequestRecord(
            "r", "a", "xyz", True, True, "default", sha("x"), [OutputRecord("t", "table", "pass")]
        )
    with pytest.raises(SdcInputError, match="unsigned"):
        RequestRecord(
            "r",
            "a",
            sha("m"),
            False,
            True,
            "default",
            sha("x"),
            [OutputRecord("t", "table", "pass")],
        )
    with pytest.raises(SdcInputError, match="distinct names"):
        RequestRecord(
            "r",
            "a",
            sha("m"),
            True,
            True,
            "default",
            sha("x"),
            [OutputRecord("t", "table", "pass"), OutputRecord("t", "table", "fail")],
        )
    with pytest.raises(SdcInputError, match="1 or 2"):
        request("r", required=3)
    with pytest.raises(SdcInputError, match="JSON data"):
        OutputRecord("t", "table", "pass", {"x": object()})
    with pytest.raises(SdcInputError, match="reason"):
        Decision("r", "bob", "approve", "   ")
    with pytest.raises(SdcInputError, match="action"):
        Decision("r", "bob", "ok", "fine")
    with pytest.raises(SdcInputError, match="checker"):
        Decision("r", "bob\nmallory", "approve", "fine")


def test_release_files_are_validated(registry_url: str) -> None:
    req = request("req-8")
    with open_registry(registry_url) as reg:
        reg.decide(req, approve("req-8"))
        for files in (
            {"visits": {"../visits.csv": sha("v")}},
            {"visits": {"/etc/passwd": sha("v")}},
            {"visits": {"visits.csv": "not a digest"}},
            {"visits": {}},
            {},
        ):
            with pytest.raises(SdcInputError):
                reg.release("req-8", files, actor="bob")
        with pytest.raises(SdcInputError, match="once"):
            reg.release("req-8", files_of(req), actor="bob", other_files={"visits.csv": sha("x")})
        assert reg.state("req-8").state == "approved"


def test_urls() -> None:
    for url in (
        "mysql://db/x",
        "sqlite://relative.db",
        "sqlite:///",
        "registry.db",
        3,
        "sqlite:///:memory:",
        "sqlite:///x.db?mode=ro",
    ):
        with pytest.raises(SdcInputError, match=r"sqlite:///path/to/registry\.db"):
            open_registry(url)  # type: ignore[arg-type]


def test_sqlite_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SdcInputError, match="does not exist"):
        open_registry(f"sqlite:///{tmp_path}/missing/registry.db")
    with pytest.raises(SdcInputError, match="does not exist"):
        open_registry(f"sqlite:///{tmp_path}/registry.db", create=False)
    monkeypatch.chdir(tmp_path)
    with open_registry("sqlite:///relative.db") as reg:
        record_release(reg, "r1")
    assert (tmp_path / "relative.db").is_file()
    conn = sqlite3.connect(tmp_path / "relative.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    (tmp_path / "other.db").write_bytes(b"")
    with pytest.raises(SdcInputError, match="holds no release registry"):
        open_registry("sqlite:///other.db", create=False)
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(SdcRegistryError):
        open_registry("sqlite:///junk.db")


def test_postgres_errors_name_the_server_without_its_password() -> None:
    with pytest.raises(SdcRegistryError) as info:
        open_registry("postgresql://gate:s3cret@127.0.0.1:1/registry?connect_timeout=2")
    assert "s3cret" not in str(info.value) and "gate:***@127.0.0.1:1" in str(info.value)


# -- schema migrations ----------------------------------------------------------------------

_NEXT = len(MIGRATIONS) + 1
_V_NEXT = Migration(
    _NEXT,
    "test: a note per request",
    (
        "CREATE TABLE request_notes (request_id TEXT PRIMARY KEY, note TEXT NOT NULL)",
        "INSERT INTO request_notes (request_id, note) SELECT request_id, 'migrated' FROM requests",
    ),
)


def _dialect(url: str):
    if url.startswith("sqlite:///"):
        from sdc.release.registry.sqlite import SqliteDialect

        return SqliteDialect(url[len("sqlite:///") :])
    from sdc.release.registry.postgres import PostgresDialect

    return PostgresDialect(url)


def test_an_older_registry_is_migrated_and_keeps_its_history(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        record_release(reg, "r1")
    with SqlRegistry(_dialect(registry_url), "test", migrations=(*MIGRATIONS, _V_NEXT)) as reg:
        assert reg.schema_version == _NEXT
        assert reg._q("SELECT request_id, note FROM request_notes").fetchall() == [
            ("r1", "migrated")
        ]
        assert [r.request_id for r in reg.releases()] == ["r1"] and reg.verify().valid
    with pytest.raises(SdcRegistryError, match=f"schema version {_NEXT}, newer"):
        open_registry(registry_url)


def test_a_version_1_registry_gains_the_span_basis_cache(registry_url: str) -> None:
    with SqlRegistry(_dialect(registry_url), "test", migrations=MIGRATIONS[:1]) as reg:
        record_release(reg, "r1")
        assert reg.schema_version == 1
    with open_registry(registry_url) as reg:
        assert reg.schema_version == 2 and reg.span_bases(["k"]) == {}
        reg.keep_span_basis("k", "AAAA")
        reg.keep_span_basis("j", "BBBB")
        assert reg.span_bases(["k", "x"]) == {"k": "AAAA"}
        reg.keep_span_basis("k", "CCCC")  # kept again: replaced
        assert reg.span_bases([f"x{i}" for i in range(1200)] + ["k", "j"]) == {
            "k": "CCCC",
            "j": "BBBB",
        }
        assert [r.request_id for r in reg.releases()] == ["r1"] and reg.verify().valid


def test_a_failing_migration_changes_nothing(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        record_release(reg, "r1")
    broken = Migration(
        _NEXT,
        "test: fails half-way",
        (
            "CREATE TABLE request_notes (request_id TEXT PRIMARY KEY)",
            "INSERT INTO no_such_table VALUES (1)",
        ),
    )
    with pytest.raises(SdcRegistryError):
        SqlRegistry(_dialect(registry_url), "test", migrations=(*MIGRATIONS, broken))
    with open_registry(registry_url) as reg:
        assert reg.schema_version == len(MIGRATIONS)
        assert not _dialect(registry_url).has_table(reg._conn, "request_notes")
        assert reg.verify().valid


def test_the_append_only_tables_refuse_updates_and_deletes(registry_url: str) -> None:
    with open_registry(registry_url) as reg:
        record_release(reg, "r1")
        for statement in (
            "UPDATE audit_log SET actor = 'mallory'",
            "DELETE FROM decisions",
            "UPDATE outputs SET verdict = 'pass'",
            "DELETE FROM released_files",
        ):
            with pytest.raises(reg._d.errors, match="append-only"):
                reg._q(statement)
        assert reg.verify().valid


def test_the_migrations_are_numbered_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_a_gate_role_with_only_select_and_insert_can_record_and_verify() -> None:
    """The least privilege the operators' page recommends for PostgreSQL: the gate's role
    may read, insert and move the audit head; it can neither edit nor delete a record."""
    import psycopg
    from postgres_server import admin_url, fresh_schema

    with fresh_schema() as owner_url:
        open_registry(owner_url).close()  # the owner creates (migrates) the registry
        query = parse_qs(urlsplit(owner_url).query)
        schema = query["options"][0].split("=")[1]
        role = f"gate_{schema}"
        grants = (
            f"CREATE ROLE {role} LOGIN",
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {role}",
            f"GRANT UPDATE ON {schema}.audit_head, {schema}.span_bases TO {role}",
        )
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            for statement in grants:
                conn.execute(statement)
        parts = urlsplit(owner_url)
        gate_url = urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.split('@')[-1]}"))
        try:
            with open_registry(gate_url) as reg:
                record_release(reg, "r1")
                assert reg.verify().valid
                reg.keep_span_basis("k", "AAAA")
                reg.keep_span_basis("k", "BBBB")  # replaced
                assert reg.span_bases(["k"]) == {"k": "BBBB"}
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    reg._q("UPDATE decisions SET reason = 'edited'")
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    reg._q("DROP TRIGGER decisions_append_only ON decisions")
        finally:
            with psycopg.connect(admin_url(), autocommit=True) as conn:
                conn.execute(f"DROP OWNED BY {role}")
                conn.execute(f"DROP ROLE {role}")


def test_the_operators_page_examples_run() -> None:
    """``docs/operators/registry.md`` (also collected by the documentation's own doctest run)."""
    import doctest

    page = Path(__file__).resolve().parents[1] / "docs" / "operators" / "registry.md"
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags)
    assert result.attempted >= 10 and result.failed == 0


def test_without_a_server_tests_skip_outside_ci_and_fail_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import postgres_server

    monkeypatch.setattr(postgres_server, "_STATE", {"error": "initdb not found"})
    monkeypatch.delenv("CI", raising=False)
    with pytest.warns(postgres_server.PostgresUnavailable), pytest.raises(pytest.skip.Exception):
        postgres_server.admin_url()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run them"):
        postgres_server.admin_url()


def test_one_release_at_a_time(registry_url: str) -> None:
    """The release lock is held by one registry connection at a time (two processes, or
    two machines on PostgreSQL, are two connections); the next waits, then gives up."""
    import threading
    import time

    with open_registry(registry_url) as first, open_registry(registry_url) as second:
        with first.releasing():
            with pytest.raises(SdcRegistryError, match="held its lock for more than 0 s"):
                with second.releasing(timeout=0.2):
                    pass
            got: list[float] = []

            def wait() -> None:
                t0 = time.monotonic()
                with second.releasing(timeout=10):
                    got.append(time.monotonic() - t0)

            waiter = threading.Thread(target=wait)
            waiter.start()
            time.sleep(0.5)
            assert not got  # still waiting while the first holds it
        waiter.join(timeout=10)
        assert got and got[0] >= 0.4  # it went on once the first let go
        with first.releasing():  # and the lock can be taken again
            assert first.verify().valid
