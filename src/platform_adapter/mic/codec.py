"""The one JSON codec of the contract: msgspec encoders/decoders, built once."""

from __future__ import annotations

from typing import Any, Final, TypeVar

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

MAX_INTENT_SIZE: Final = 64 * 1024
"""An intent is a few hundred bytes; a larger message is refused before it is parsed."""
MAX_MESSAGE_SIZE: Final = 64 * 1024 * 1024
"""Any other contract message (a fact carries a platform frame, up to the frame decoder's limit)."""

T = TypeVar("T")


def _decode(decoder: msgspec.json.Decoder[T], data: bytes | str, limit: int, what: str) -> T:
    # Every failure is a DecodeError: a shape or syntax error, an oversized message, and nesting deeper than
    # msgspec's depth check (a RecursionError, which would otherwise end the task that decodes).
    if len(data) > limit:
        raise DecodeError(f"{what} of {len(data)} bytes exceeds the limit of {limit}")
    try:
        return decoder.decode(data)
    except RecursionError:
        raise DecodeError(f"{what} is nested too deeply to decode") from None
    except ValueError as exc:  # a str with lone surrogates has no UTF-8 form
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"{what} is not valid text: {exc}") from None


def encode(message: Any) -> bytes:
    """Encode any contract message (or a plain JSON value) to JSON bytes."""
    return _encoder.encode(message)


def decode_envelope(data: bytes | str) -> FactEnvelope:
    """Decode a FactEnvelope; raises DecodeError with the offending path."""
    return _decode(_envelope_decoder, data, MAX_MESSAGE_SIZE, "fact")


def decode_intent(data: bytes | str) -> Intent:
    """Decode an intent by its `type` tag; raises DecodeError with the offending path."""
    return _decode(_intent_decoder, data, MAX_INTENT_SIZE, "intent")


def decode_ack(data: bytes | str) -> ReceiptAck:
    """Decode a ReceiptAck."""
    return _decode(_ack_decoder, data, MAX_MESSAGE_SIZE, "receipt-ack")


def decode_health(data: bytes | str) -> HealthSignal:
    """Decode a HealthSignal."""
    return _decode(_health_decoder, data, MAX_MESSAGE_SIZE, "health signal")


def decode_gap(data: bytes | str) -> GapDetail:
    """Decode the payload of a gap fact."""
    return _decode(_gap_decoder, data, MAX_MESSAGE_SIZE, "gap detail")
