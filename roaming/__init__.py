"""Roaming status, zones and rates, the spending cap and roaming fair use."""
