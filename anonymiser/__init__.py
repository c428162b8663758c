"""Pure library: text anonymisation, generalisation and the cryptographic vault.

No database, no web, no queue: everything here works on values in memory.
"""
