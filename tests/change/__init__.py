"""Tests of `backpath diff` and `backpath graph`."""
