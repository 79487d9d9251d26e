"""Users, logging in and out, roles and access, login limits, the admins' pages."""
