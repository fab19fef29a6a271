"""Shops, versioned listings and card-key stock."""
