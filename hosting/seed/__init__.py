"""Seeding of the hosting app: the demo data (`demo`) and the scale dataset (`scale`)."""
