"""使用帮助: the users' guide in Chinese at /help, one part per role, task by task."""
