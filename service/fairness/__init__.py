"""Fairness: people's attributes held apart (their own table, every read audited) and the
adverse-impact analysis of readiness bands across groups. `analysis` is pure (NumPy/SciPy,
no I/O); `alerts` sends `fairness.alert` when a cycle crosses below four fifths."""
