"""The seeded-fault self-test: proof that each check catches the mistake it claims to catch."""
