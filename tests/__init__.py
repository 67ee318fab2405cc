"""Test suite of nvib-hf."""
