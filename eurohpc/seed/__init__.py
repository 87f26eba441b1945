"""Seeding of the core app: the demo's organisations and users, and the helpers every app's demo uses (`demo`)."""
