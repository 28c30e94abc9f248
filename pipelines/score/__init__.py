"""Scoring: household cashflow, flags and reasons in SQL, the tax-year parameters."""
