"""Tests of the exchange: matching engine examples and its reference-model state machine."""
