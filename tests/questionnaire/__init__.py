"""Tests of the interactive questionnaire."""
