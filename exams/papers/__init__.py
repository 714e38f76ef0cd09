"""Papers: drawing a candidate's paper from the question bank, recording answers, scores (exam taking builds on it)."""
