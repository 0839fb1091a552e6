"""Tests of FHIR in and out."""
