"""The layer catalogue: every layer declared once, its styles, and the validation of its data."""
