"""Tests of `backpath validate`."""
