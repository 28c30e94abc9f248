"""District comparison: disclosure control, benchmarks, movement, needs by area, report."""
