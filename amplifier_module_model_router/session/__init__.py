"""The kernel-facing side: ``mount``, the tier decision, the router and the spawner."""
