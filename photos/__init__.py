"""Photos: the photo library (embedded, or the city's unified library over HTTPS), quality checks, face
encodings, 1:1 verification and 1:N search. Knows nothing of exams or certificates."""

from photos.views import bp

__all__ = ["bp"]
