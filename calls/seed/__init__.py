"""Seeding of the calls app: the demo data (`demo`, then `demo_evaluation`) and the scale dataset (`scale`)."""
