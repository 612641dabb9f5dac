"""Numbered schema migrations (NNNN_description.sql), applied in order; append-only.

One folder per engine: ``sqlite/`` (the embedded store, ``ait42_session.db``) and ``postgres/``
(``ait42_session.postgres``). Each engine's versions run 0001, 0002, ... on their own.
"""
