"""The spec's acceptance criteria (§7.4 A-E), bullet by bullet, and the tests that prove each bullet.

A bullet passes when every test pattern mapped to it matched tests that all ran and passed; a bullet none of
whose tests ran is "not run" (e.g. `pa acceptance -k ...`), and a pattern that matches no collected test
(a renamed test) leaves the bullet "incomplete": neither is a pass. Patterns are shell-style globs over test
function names, so parametrized cases and a suffix added to a name still count. `shows` says in a sentence what those tests assert, so the report can be read without
the code; `docs` point to where the project documents the behaviour the bullet asks to be documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

TEST_FILES = (
    "test_connectivity.py",
    "test_auth.py",
    "test_market_data.py",
    "test_execution.py",
    "test_backpressure.py",
)
"""The acceptance test files under tests/integration, in report order."""

BACKPRESSURE_TEST = "test_acceptance_E_a_blocked_consumer_escalates_before_loss_and_loses_nothing"
"""The test whose fact rate and outbox depth the report plots."""


@dataclass(frozen=True, slots=True)
class Bullet:
    """One bullet of §7.4, with the tests that prove it."""

    key: str
    text: str
    tests: tuple[str, ...]  # glob patterns over test function names
    shows: str
    docs: tuple[str, ...] = ()

    def covers(self, test_name: str) -> bool:
        """True if one of this bullet's patterns matches the test function name."""
        return any(fnmatchcase(test_name, pattern) for pattern in self.tests)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One lettered criterion of §7.4."""

    letter: str
    title: str
    bullets: tuple[Bullet, ...]


_A_CONNECT = "test_acceptance_A_connects_authorizes_both_sockets_and_reports_pa_up"
_A_CLOSED = "test_acceptance_A_closed_socket_degrades_reconnects_and_resubscribes_20_times"
_A_SILENT = "test_acceptance_A_silent_socket_is_detected_within_the_bound"
_A_DOWN = "test_acceptance_A_platform_down_past_the_give_up_window_is_pa_down_with_halt"
_A_GAPS = "test_every_loss_is_reported_to_u_as_a_gap_fact"
_A_SHUTDOWN = "test_shutdown_event_is_reported_by_reason_code_and_recovered"
_A_DEAD_ROUTES = "test_a_dead_connections_routes_are_forgotten"
_A_MD_REFUSED = "test_acceptance_A_a_refused_market_data_request_is_pa_down_*"
_AUTH_PENALTY = "test_a_penalty_ticket_on_login_is_waited_out_and_the_same_body_resent_with_the_ticket"
_AUTH_CAPTCHA = "test_a_captcha_is_pa_down_with_a_reason_the_operator_can_act_on"
_AUTH_429 = "test_a_429_locks_every_request_out_and_reports_pa_down"
_AUTH_RENEW = "test_the_token_is_renewed_*before_it_lapses"
_AUTH_SHORT_TOKEN = "test_a_short_lived_token_is_renewed_*"  # noqa: S105 - a test name pattern
_AUTH_REVOKED = "test_a_revoked_token_is_replaced_and_the_sockets_reauthorize"
_B_ORDER = "test_acceptance_B_every_md_message_reaches_u_in_order_with_platform_timestamps_unchanged"
_B_TICKS = "test_acceptance_B_a_sub_minute_timeframe_yields_raw_ticks_and_no_bars"
_C_SEQ = "test_acceptance_C_bar_seq_is_left_for_u_and_platform_ids_stay_in_the_payload"
_C_GAP = "test_acceptance_C_reconnect_mid_minute_reports_the_gap_and_backfills_the_simulators_bars"
_D_SUBMIT = "test_acceptance_D_submit_is_acked_with_order_id_and_the_fill_reaches_oe_via_u_and_paper"
_D_NO_PATH = "test_acceptance_D_the_pa_has_no_path_to_oe_but_acks_and_health"
_D_BAD = "test_acceptance_D_a_bad_intent_fails_with_its_reason_and_the_platform_receives_nothing"
_D_UNKNOWN = "test_acceptance_D_an_unanswered_order_is_unknown_then_resolved_by_facts_and_never_sent_twice"
_D_DISCONNECT = "test_acceptance_D_a_fill_during_a_disconnect_is_forwarded_after_the_resync"
_D_KILL = "test_acceptance_D_kill_cancels_liquidates_latches_and_flat_is_confirmed_by_facts"
_D_FLATTEN = "test_acceptance_D_flatten_all_liquidates_every_open_position"
_D_CANCEL = "test_acceptance_D_cancel_of_a_working_order_is_acked_with_the_command_id"
_D_SIM = "test_acceptance_D_sim_mode_refuses_every_intent_while_market_data_flows"
_D_ORDER_TYPES = "test_acceptance_D_every_order_type_*"
_D_PENALTY = "test_an_order_during_a_penalty_cool_down_*"

CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "A",
        "Connectivity",
        (
            Bullet(
                "A1",
                "Can connect + authenticate reliably",
                (_A_CONNECT, _AUTH_PENALTY, _AUTH_RENEW, _AUTH_SHORT_TOKEN, _AUTH_REVOKED),
                "Both sockets are authorized once each right after `o` and the PA reports PA_UP only then; a "
                "penalty ticket at login is waited out and the same body re-sent with the ticket; the token is "
                "renewed ahead of expiry without a new session (a short-lived one half way, never in a loop); a "
                "revoked token is replaced and both sockets re-authorize.",
                ("docs/adr/0001-stack.md",),
            ),
            Bullet(
                "A2",
                "Detects disconnects and attempts reconnect with bounded backoff",
                (_A_CLOSED, _A_SILENT, _A_SHUTDOWN, _A_GAPS, _A_DEAD_ROUTES),
                "Twenty forced closes of the market-data socket are each detected and reconnected within the "
                "backoff bound (4 s max + 20 % jitter, on a manual clock) with every subscription re-made and no "
                "task or socket leaked; a silent socket is declared dead within the 8 s bound, not before; "
                "Tradovate `shutdown` events are reported by reason code and recovered; every loss reaches U "
                "as a gap fact; a dead connection's request routes are forgotten.",
                ("docs/adr/0005-reconnect-and-gaps.md",),
            ),
            Bullet(
                "A3",
                'Reports "PA_DEGRADED/PA_DOWN" to OE when connection is not healthy',
                (_A_CLOSED, _A_DOWN, _AUTH_CAPTCHA, _AUTH_429, _A_MD_REFUSED),
                "A lost socket is PA_DEGRADED with halt_required at once; the platform down past the give-up "
                "window is PA_DOWN (gave_up, halt) as seen by OE, and the PA recovers by itself when the "
                "platform returns; a captcha or a 429 lock-out is PA_DOWN with a reason an operator can act "
                "on and no retry storm; a market-data request Tradovate refuses in a 200 answer (no "
                "entitlement) is PA_DOWN md_refused naming the symbol and Tradovate's text, cleared once granted.",
            ),
        ),
    ),
    Criterion(
        "B",
        "Market data forwarding",
        (
            Bullet(
                "B1",
                "Subscribes to configured instruments",
                (_B_ORDER, _A_CLOSED),
                "Quotes arrive for both configured symbols and DOM for the one configured with it; after each "
                "of 21 connections both quote subscriptions are re-made (2 x 21 requests).",
            ),
            Bullet(
                "B2",
                "Forwards bars if available (no fabricated bars), else ticks (no aggregation into canonical "
                "bars inside PA)",
                (_B_TICKS, _C_SEQ),
                "Platform minute bars (history and live) are forwarded as the platform sent them; sub-minute "
                "timeframes are served by one Tick chart whose packets are forwarded packed, never unpacked or "
                "aggregated, and no bar fact appears for them.",
                ("docs/adr/0003-timeframe-mapping.md",),
            ),
            Bullet(
                "B3",
                "Demonstrates correct timestamp handling (platform ts preserved; receive ts logged if available)",
                (_B_ORDER,),
                "More than 2,000 market-data messages reach U byte for byte and in order; each quote/DOM fact's "
                "`platform_ts` is the platform's own string, and every fact carries `recv_ts`.",
                ("docs/mic.md",),
            ),
        ),
    ),
    Criterion(
        "C",
        "Seq compliance (per contract)",
        (
            Bullet(
                "C1",
                "If platform provides bar seq with acceptable semantics: PA forwards it unchanged",
                (_C_SEQ,),
                "Tradovate supplies no bar sequence number; the platform's own ids (tick ids, chart ids) travel "
                "unchanged inside the payload.",
                ("docs/discovery-report.md",),
            ),
            Bullet(
                "C2",
                "If not: PA leaves bar seq unmapped and documents it; U will assign",
                (_C_SEQ,),
                "`platform_seq` is null on every fact and U assigns a contiguous BarStream `seq`; the contract "
                "documents `delivery_seq` as transport-only and not canonical.",
                ("docs/mic.md",),
            ),
            Bullet(
                "C3",
                "Documents any duplicate/replay behavior observed during reconnect tests",
                (_C_GAP,),
                "A reconnect mid-minute reports a gap per stream with its epochs and last seen platform "
                "timestamp; the chart is backfilled (facts marked `backfill`, duplicates forwarded and marked, "
                "never dropped) and U's bars then equal the simulator's own bars across the outage.",
                ("docs/adr/0005-reconnect-and-gaps.md", "docs/discovery-report.md"),
            ),
        ),
    ),
    Criterion(
        "D",
        "Execution path",
        (
            Bullet(
                "D1",
                "Receives intents from OE and executes them",
                (_D_SUBMIT, _D_ORDER_TYPES, _D_CANCEL, _D_FLATTEN, _D_KILL, _D_SIM),
                "Submit (every order type and time in force as specified), cancel, flatten-all and kill are "
                "executed on the platform (kill cancels, liquidates, "
                "latches, and flat is confirmed from platform facts); in SIM mode every intent is refused and "
                "no trading socket is opened.",
                ("docs/adr/0006-kill-and-flatten.md",),
            ),
            Bullet(
                "D2",
                "Returns receipt-ack + immediate-failure response to OE (platform request id if available)",
                (_D_SUBMIT, _D_BAD, _D_UNKNOWN, _D_CANCEL, _D_PENALTY),
                "Accepted acks carry the platform orderId / commandId; bad intents fail at once with a typed "
                "reason and nothing reaches the platform; an unanswered order is `unknown` (never rejected), "
                "resolved by facts, and never sent twice; an order refused during a penalty cool-down fails "
                "unsent, a penalized one is `unknown`.",
                ("docs/adr/0004-unknown-outcomes.md", "docs/mic.md"),
            ),
            Bullet(
                "D3",
                "Emits all execution/account facts to U for canonical EventStream persistence (payload "
                "preserves raw platform fields)",
                (_D_SUBMIT, _D_DISCONNECT, _D_UNKNOWN),
                "Fills and commands reach U as raw platform payloads tied to the intent id; a fill that "
                "happens while the trading socket is down arrives with the fresh sync snapshot after the "
                "reconnect, behind a gap fact.",
            ),
            Bullet(
                "D4",
                "Demonstrates OE receives execution outcomes via U -> Paper -> OE (not via PA push)",
                (_D_SUBMIT, _D_NO_PATH),
                "OE learns `Filled` from EventStream records U wrote and Paper relayed; the PA's code imports "
                "nothing of U / Paper / OE and its only ports towards OE are the receipt-ack and health.",
            ),
        ),
    ),
    Criterion(
        "E",
        'Failure behavior (the "don\'t blow up the audit trail" test)',
        (
            Bullet(
                "E1",
                "Under simulated backpressure (slow consumer / blocked channel), PA sheds optional telemetry first",
                (BACKPRESSURE_TEST,),
                "With U stalled, telemetry still flows before the high watermark and is shed (and counted) "
                "once facts back up; no fact is shed.",
                ("docs/adr/0007-fail-closed-outbox.md",),
            ),
            Bullet(
                "E2",
                "Escalates to OE when canonical-relevant forwarding is at risk",
                (BACKPRESSURE_TEST,),
                "At the high watermark (half of capacity), before capacity, the PA goes PA_DEGRADED with "
                "consumer_backpressure and halt_required, and OE receives the halt; at capacity the PA stops "
                "reading its sockets so TCP pushes back on the platform.",
                ("docs/adr/0007-fail-closed-outbox.md",),
            ),
            Bullet(
                "E3",
                "Does not silently drop canonical-relevant events",
                (BACKPRESSURE_TEST,),
                "After U resumes, every fact arrives: delivery_seq runs 1..N with no hole, U reports no "
                "delivery hole, and the market-data payloads equal what the simulator sent, byte for byte.",
            ),
        ),
    ),
)
