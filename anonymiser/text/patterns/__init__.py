"""Validated patterns for what deduce and phonenumbers miss; one module per family.

Every module exposes ``find(text) -> list[Finding]`` (offsets into ``text``).
"""
