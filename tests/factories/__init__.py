"""Builders of test data shared by the suite."""
