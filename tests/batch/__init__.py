"""Tests of `backpath batch`."""
