"""Tests of the Tradovate simulator, driven with raw frames."""
