"""Campaigns, notifications and delivery events (see the campaign-engine issue)."""
