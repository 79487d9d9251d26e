"""The rules of what the service records: inspections and hazards (inspections.py,
book.py), users and their logins (users.py, login_limits.py), and the audit log. No
Flask: each store keeps the rows with its own SQL (layers/stores/)."""
