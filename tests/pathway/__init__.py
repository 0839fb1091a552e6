"""Tests of the bundled default pathway's clinical content."""
