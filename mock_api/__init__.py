"""The mock Voximplant Management API (aiohttp)."""
