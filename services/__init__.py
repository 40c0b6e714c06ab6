"""The four kaa services, each its own OS process: identify, outreach, measures, register."""
