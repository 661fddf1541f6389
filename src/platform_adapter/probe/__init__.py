"""`pa probe`: a bounded, polite session against a Tradovate demo account that records every raw frame
(secrets masked) and answers the discovery report's open items P1-P9 as a findings table."""

from platform_adapter.probe.capture import CAPTURE_FORMAT, CaptureRecord, CaptureWriter, read_capture
from platform_adapter.probe.findings import Finding, ProbeReport, Verdict
from platform_adapter.probe.masking import CaptureMasker
from platform_adapter.probe.runner import run_probe
from platform_adapter.probe.steps.context import ProbeOptions
from platform_adapter.probe.target import ProbeRefused, ProbeTarget, TargetKind, resolve_target

__all__ = [
    "CAPTURE_FORMAT",
    "CaptureMasker",
    "CaptureRecord",
    "CaptureWriter",
    "Finding",
    "ProbeOptions",
    "ProbeRefused",
    "ProbeReport",
    "ProbeTarget",
    "TargetKind",
    "Verdict",
    "read_capture",
    "resolve_target",
    "run_probe",
]
