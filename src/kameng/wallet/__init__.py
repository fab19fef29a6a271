"""Wallets, top-ups and payment gateways (sandbox by default; real gateways are adapters)."""
