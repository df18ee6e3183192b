"""The Fiskil fake: a stateful Python core behind a WireMock edge."""
