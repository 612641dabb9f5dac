"""Numbered schema migrations (NNNN_description.sql), applied in order; append-only."""
