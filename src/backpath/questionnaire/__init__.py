"""The interactive questionnaire: what to ask next, and the prompts on a terminal."""
