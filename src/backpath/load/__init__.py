"""Pathway files in: YAML read safely and bounded, checked against the schema and the condition language, cached."""
