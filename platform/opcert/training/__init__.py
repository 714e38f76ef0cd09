"""Online training (线上培训): courses and lessons per operation item, enrolment, study hours counted on the
server's clock with face checks while studying, progress, and the evidence kept for 6 years."""

from opcert.training import evidence
from opcert.training.views import bp

bp.record_once(evidence.register)

__all__ = ["bp"]
