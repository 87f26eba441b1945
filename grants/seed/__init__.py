"""Seeding of the grants app: the demo data (`demo`) and the scale dataset (`scale`)."""
