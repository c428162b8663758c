"""The one error the text anonymiser raises."""


class AnonymiserError(Exception):
    """Anonymising failed; the caller must hold the text back. Never carries the text."""
