"""The rules of inspection and hazard records, and the audit log."""
