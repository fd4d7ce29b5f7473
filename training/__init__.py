"""Reproducible CPU training pipeline for the shipped demo model pair (target + draft).

Run `python -m training all` from a fresh clone; see `inference/demo_models/README.md`.
"""
