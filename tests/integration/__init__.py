"""Tests that deliver webhooks over real HTTP to receivers on loopback."""
