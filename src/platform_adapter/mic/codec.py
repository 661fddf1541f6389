"""The one JSON codec of the contract: msgspec encoders/decoders, built once."""

from __future__ import annotations

from typing import Any

import msgspec

from platform_adapter.mic.acks import ReceiptAck
from platform_adapter.mic.envelope import FactEnvelope, GapDetail
from platform_adapter.mic.health import HealthSignal
from platform_adapter.mic.intents import Intent

_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(FactEnvelope)
_intent_decoder: msgspec.json.Decoder[Intent] = msgspec.json.Decoder(Intent)
_ack_decoder = msgspec.json.Decoder(ReceiptAck)
_health_decoder = msgspec.json.Decoder(HealthSignal)
_gap_decoder = msgspec.json.Decoder(GapDetail)

DecodeError = msgspec.DecodeError  # also raised (as ValidationError, a subclass) on a shape mismatch


def encode(message: Any) -> bytes:
    """Encode any contract message (or a plain JSON value) to JSON bytes."""
    return _encoder.encode(message)


def decode_envelope(data: bytes | str) -> FactEnvelope:
    """Decode a FactEnvelope; raises DecodeError with the offending path."""
    return _envelope_decoder.decode(data)


def decode_intent(data: bytes | str) -> Intent:
    """Decode an intent by its `type` tag; raises DecodeError with the offending path."""
    return _intent_decoder.decode(data)


def decode_ack(data: bytes | str) -> ReceiptAck:
    """Decode a ReceiptAck."""
    return _ack_decoder.decode(data)


def decode_health(data: bytes | str) -> HealthSignal:
    """Decode a HealthSignal."""
    return _health_decoder.decode(data)


def decode_gap(data: bytes | str) -> GapDetail:
    """Decode the payload of a gap fact."""
    return _gap_decoder.decode(data)
