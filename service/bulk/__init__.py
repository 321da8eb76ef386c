"""Bulk imports of assessments (JSONL and CSV) run as background jobs, and streamed exports."""
