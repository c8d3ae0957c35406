"""The demo world: synthetic procedural egocentric videos and their annotations in every native format.

`plan_world(size, seed)` is the cheap, pure-data plan (what the workflow lists at parse time);
`write_world(out_dir, size=, seed=)` renders the videos and writes the sheet and every annotation file.
"""

from egoflow.demo.world import WorldPlan, plan_world


def write_world(out_dir, *, size: str, seed: int, threads: int = 1) -> WorldPlan:
    # Imported here so that planning (done by every snakemake parse) never loads the renderer.
    from egoflow.demo.write import write_world as _write_world

    return _write_world(out_dir, size=size, seed=seed, threads=threads)


__all__ = ["WorldPlan", "plan_world", "write_world"]
