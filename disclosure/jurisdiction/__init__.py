"""Reads about a jurisdiction as a whole (issue 15): roll-ups, completeness, data quality.

Each module answers its pages from SQL aggregates over a subtree (ADR 0014,
ADR 0016), in a fixed number of queries whatever the subtree's size.
"""
