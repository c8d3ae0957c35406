"""Action anticipation: S-GEAR on EPIC-KITCHENS-100 features, Ego4D long-term anticipation, late fusion.

data.py        anticipation segments from EPIC-style CSVs (tau_a / tau_o windows, drop_style=correct),
               per-frame past labels; Ego4D LTA windows (N observed, Z future); feature datasets
evaluation.py  EK100 overall / unseen / tail class-mean recall@5, top-k, the frequency-prior baseline,
               late fusion, the challenge JSONs (EK100, Ego4D LTA outputs.json)
run.py         train / evaluate one run through `egoflow.train.train`
"""
