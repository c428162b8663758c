"""Text anonymiser: removes personal data from Dutch and English free text.

Use ``Anonymiser.load(cache_dir)`` once, then ``anonymise(text, candidate=...)``.
"""

from anonymiser.text.errors import AnonymiserError
from anonymiser.text.findings import PLACEHOLDERS, AnonymisedText, CandidateName, Finding
from anonymiser.text.pipeline import Anonymiser, prepare

__all__ = [
    "PLACEHOLDERS",
    "AnonymisedText",
    "Anonymiser",
    "AnonymiserError",
    "CandidateName",
    "Finding",
    "prepare",
]
