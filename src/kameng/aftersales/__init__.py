"""Refund cases (售后): negotiation, arbitration, compromise, appeal, deadlines and refunds."""
