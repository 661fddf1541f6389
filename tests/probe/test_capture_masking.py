"""The capture masks secrets by position (authorize token, login fields, token responses) and by value."""

from __future__ import annotations

import json
from pathlib import Path

from platform_adapter.core.clock import ManualClock
from platform_adapter.probe import CaptureMasker, CaptureWriter, read_capture

TOKEN = "tok-eyJhbGciOiJIUzI1NiJ9.secret"


def test_authorize_frame_keeps_endpoint_and_id_but_not_the_token() -> None:
    masker = CaptureMasker()

    assert masker.ws_send(f"authorize\n7\n\n{TOKEN}") == "authorize\n7\n\n[REDACTED]"
    assert masker.ws_send(f'authorize\n7\n\n"{TOKEN}"') == "authorize\n7\n\n[REDACTED]"


def test_login_body_and_token_response_are_masked_by_field_and_tokens_learnt_for_later_frames() -> None:
    masker = CaptureMasker(["hunter2-password"])
    login = masker.body('{"name":"u","password":"hunter2-password","cid":12,"sec":"s3c","appId":"a"}')
    answer = masker.body(json.dumps({"accessToken": TOKEN, "mdAccessToken": TOKEN + "-md", "userId": 5}))
    later = masker.text(f"some error mentioning {TOKEN}-md and {TOKEN}")

    assert json.loads(login) == {
        "name": "u",
        "password": "[REDACTED]",
        "cid": "[REDACTED]",
        "sec": "[REDACTED]",
        "appId": "a",
    }
    assert json.loads(answer) == {"accessToken": "[REDACTED]", "mdAccessToken": "[REDACTED]", "userId": 5}
    assert later == "some error mentioning [REDACTED] and [REDACTED]"


def test_a_body_without_secret_fields_is_kept_byte_for_byte() -> None:
    body = '{"s":200,"i":3,"d":{"price":6816.25, "id":1}}'

    assert CaptureMasker(["unrelated-secret"]).body(body) == body


def test_cookies_are_hidden_from_recorded_headers() -> None:
    shown = CaptureMasker().headers([("Set-Cookie", "session=abc"), ("Content-Type", "application/json")])

    assert shown == {"Set-Cookie": "[REDACTED]", "Content-Type": "application/json"}


def test_capture_lines_are_written_masked_and_read_back_in_order(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path / "c.jsonl", CaptureMasker(["pw-123456"]), ManualClock())
    writer.header({"target": "simulator"})
    writer.begin_step("P1", "auth")
    writer.ws_frame("send", "trading", "trading-1", f"authorize\n1\n\n{TOKEN}")
    writer.ws_frame("recv", "trading", "trading-1", 'a[{"s":200,"i":1}]')
    writer.http("send", method="POST", endpoint="auth/accesstokenrequest", query="", text='{"password":"pw-123456"}')
    writer.close()

    records = list(read_capture(tmp_path / "c.jsonl"))
    text = (tmp_path / "c.jsonl").read_text()
    assert [r.kind for r in records] == ["header", "step", "frame", "frame", "http"]
    assert records[3].text == 'a[{"s":200,"i":1}]' and records[3].step == "P1"
    assert TOKEN not in text and "pw-123456" not in text
