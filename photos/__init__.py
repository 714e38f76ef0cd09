"""Photos: the photo library (embedded and the city's unified library), quality checks, face matching (later issues)."""
