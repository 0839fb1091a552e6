"""Results for people: the one-screen summary, the full trace, markdown, the patient handout."""
