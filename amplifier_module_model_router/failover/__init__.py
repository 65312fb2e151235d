"""Keep a resolved chain alive while the agent runs: failover provider, error policy, cooldowns."""
