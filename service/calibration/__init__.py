"""Calibration: rater effects (how lenient or severe each rater is) and, later, calibration
sessions. `effects` is pure (NumPy/SciPy, no I/O)."""
