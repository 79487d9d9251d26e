"""The inspectors' feature (巡查): nearby, locate, overdue, recording, and their routes."""
