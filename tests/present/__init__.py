"""Tests of results for people: the one-screen summary and the handout."""
