"""Opportunity-outline templates and the outlines written from them."""
