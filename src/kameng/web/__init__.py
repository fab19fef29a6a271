"""Server-rendered pages for buyers, merchants, arbitrators and operators."""
