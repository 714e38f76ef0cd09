"""Exams: question bank, papers, exam centres' rooms and sessions, booking, check-in, scores (later issues)."""
