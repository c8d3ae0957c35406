"""Videos: probe, resize + chunk (one ffmpeg pass), clip sampling, the decord clip reader, transforms, Dataset.

Chunk contract (EgoVLP): `<chunks>/<video_uid>/<k>.mp4` holds the frames whose time t satisfies
floor(t / chunk_sec) == k; the manifest lists every chunk with its first frame's time in the source video.
"""
