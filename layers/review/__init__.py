"""The leaders' review: land parcels and project sites, surroundings, briefs, figures, and their
routes.
"""
