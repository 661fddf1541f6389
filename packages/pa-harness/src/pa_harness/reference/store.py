"""The reference modules' SQLite database: one connection, one schema, shared by U, OE and the audit.

U and OE share one connection (not one path) so that `:memory:` works in tests and every write is
committed before the writer yields to the event loop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
-- U's raw ingress log: every envelope as received, redeliveries flagged, in receipt (= delivery) order.
CREATE TABLE IF NOT EXISTS facts (
    fact_id INTEGER PRIMARY KEY,
    segment INTEGER NOT NULL,         -- +1 whenever delivery_seq restarts (a new PA run)
    delivery_seq INTEGER NOT NULL,
    redelivery INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    stream TEXT NOT NULL,
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    recv_ts INTEGER NOT NULL,
    connection TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    platform_ts,                      -- as sent: text or integer
    platform_seq INTEGER,
    contract_id INTEGER,
    symbol TEXT,
    account_id INTEGER,
    correlation_id TEXT,
    request_id INTEGER,
    timeframe TEXT,
    historical INTEGER,
    backfill INTEGER NOT NULL,
    packets TEXT,                     -- chart facts whose packets differ: each packet's labels (JSON), else null
    v INTEGER NOT NULL,
    payload TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT '',  -- the PA run that read it
    lease_epoch INTEGER,              -- the lease epoch of the PA tenure that read it (fencing, ADR 0012)
    fenced INTEGER NOT NULL DEFAULT 0 -- 1: its lease_epoch was below the greatest U had seen (a deposed PA's write)
);
CREATE INDEX IF NOT EXISTS facts_by_delivery ON facts (segment, delivery_seq);
CREATE INDEX IF NOT EXISTS facts_by_correlation ON facts (correlation_id);

-- Canonical EventStream (spec 6.2).
CREATE TABLE IF NOT EXISTS event_stream (
    event_id TEXT PRIMARY KEY,
    event_ts INTEGER NOT NULL,        -- UTC epoch ns
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    seq INTEGER NOT NULL,
    UNIQUE (mode, source, seq)
);

-- Canonical BarStream (spec 6.1).
CREATE TABLE IF NOT EXISTS bar_stream (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    bar_ts INTEGER NOT NULL,          -- UTC epoch ns
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    seq INTEGER NOT NULL,
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (mode, source, symbol, timeframe, bar_ts)
);

-- U-side bookkeeping of each written bar: its seq partition and the fact that completed it.
CREATE TABLE IF NOT EXISTS bar_provenance (
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    bar_ts INTEGER NOT NULL,
    session_day INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    fact_id INTEGER NOT NULL,         -- the fact carrying the version that was written
    updates INTEGER NOT NULL,         -- how many versions of the forming bar U saw
    PRIMARY KEY (mode, source, symbol, timeframe, bar_ts)
);

-- A bar that arrived again with values different from the written one (never silently dropped).
CREATE TABLE IF NOT EXISTS bar_revisions (
    revision_id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    bar_ts INTEGER NOT NULL,
    session_day INTEGER NOT NULL,
    written_seq INTEGER NOT NULL,
    written_open REAL NOT NULL,
    written_high REAL NOT NULL,
    written_low REAL NOT NULL,
    written_close REAL NOT NULL,
    written_volume REAL NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    fact_id INTEGER NOT NULL,
    backfill INTEGER NOT NULL
);

-- Tick packets, raw: one row per packet, never aggregated.
CREATE TABLE IF NOT EXISTS ticks (
    packet_id INTEGER PRIMARY KEY,
    fact_id INTEGER NOT NULL,
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    symbol TEXT,
    contract_id INTEGER,
    timeframe TEXT,
    subscription_id INTEGER,
    td INTEGER,
    s TEXT,
    bp INTEGER,
    bt INTEGER,
    ts REAL,
    tks TEXT NOT NULL,                -- the packet's `tks` array, as JSON
    historical INTEGER,
    backfill INTEGER NOT NULL,
    recv_ts INTEGER NOT NULL
);

-- Holes in delivery_seq between the PA and U.
CREATE TABLE IF NOT EXISTS delivery_holes (
    hole_id INTEGER PRIMARY KEY,
    segment INTEGER NOT NULL,
    expected_delivery_seq INTEGER NOT NULL,
    got_delivery_seq INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    fact_id INTEGER NOT NULL,
    recv_ts INTEGER NOT NULL
);

-- delivery_seq restarted (a new PA run): where the old numbering ended and the new one began.
CREATE TABLE IF NOT EXISTS delivery_resets (
    reset_id INTEGER PRIMARY KEY,
    old_segment INTEGER NOT NULL,
    last_delivery_seq INTEGER NOT NULL,
    got_delivery_seq INTEGER NOT NULL,
    fact_id INTEGER NOT NULL
);

-- OE: every intent sent and the receipt-ack it got.
CREATE TABLE IF NOT EXISTS oe_intents (
    intent_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_ts INTEGER NOT NULL,
    ack_status TEXT,                  -- accepted | failed | unknown | error (the call raised)
    ack_body TEXT,
    ack_ts INTEGER
);

-- OE: health transitions as received from the PA.
CREATE TABLE IF NOT EXISTS oe_health (
    transition_id INTEGER PRIMARY KEY,
    signal_seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    halt_required INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    detail TEXT NOT NULL,
    since INTEGER NOT NULL,
    ts INTEGER NOT NULL
);
"""


def open_db(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the reference database at `path` (":memory:" allowed)."""
    db = sqlite3.connect(str(path))
    db.row_factory = sqlite3.Row
    if str(path) != ":memory:":
        # WAL lets `pa audit` read while the demo writes; NORMAL is durable enough for a harness.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    _add_missing_columns(db, "facts", _FACT_COLUMNS_SINCE_ISSUE_17)
    db.commit()
    return db


# Columns added to `facts` after databases were first written: an older database gets them on open.
_FACT_COLUMNS_SINCE_ISSUE_17 = {
    "run_id": "TEXT NOT NULL DEFAULT ''",
    "lease_epoch": "INTEGER",
    "fenced": "INTEGER NOT NULL DEFAULT 0",
}


def _add_missing_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, declaration in columns.items():
        if name not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")


def open_existing(path: str | Path) -> sqlite3.Connection:
    """Open an existing reference database for reading (no schema changes, no pragmas); FileNotFoundError if absent."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no reference database at {path}")
    db = sqlite3.connect(str(path))
    db.row_factory = sqlite3.Row
    return db
