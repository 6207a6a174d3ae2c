"""The one typed settings object (settings.py) and its parts by concern (briefing, desks, links,
question modes), with the presets (presets/*.json) as data.
"""
