"""Attacks and faults, each with the outcome expected of it (issue 12)."""
