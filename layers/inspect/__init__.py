"""The inspectors' feature: nearby, locate, overdue, recording, and their routes."""
