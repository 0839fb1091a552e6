"""Tests of the process: memory, signals."""
