"""The Litestar application, its templates and the ``coachmatch`` command line."""
