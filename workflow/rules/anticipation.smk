# Action anticipation: S-GEAR, Ego4D long-term anticipation, late fusion.
