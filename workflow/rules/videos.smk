# Videos: probe every video of the sheet, resize + chunk each in one ffmpeg pass, merge into the manifest.
# One job per video (never per chunk, no checkpoint): the chunk list of a video is read from its chunks.json.


rule probe_video:
    input:
        get_video_input,
    output:
        "results/videos/probe/{video_uid}.json",
    log:
        "logs/videos/probe_video/{video_uid}.log",
    conda:
        "../../envs/videos.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime="10m",
    params:
        path=get_video_file,
        on_error=config["videos"]["on_error"],
    script:
        "../scripts/probe_video.py"


rule resize_chunk:
    input:
        video=get_video_input,
        probe=rules.probe_video.output[0],
    output:
        directory("results/videos/chunks/{video_uid}"),
    log:
        "logs/videos/resize_chunk/{video_uid}.log",
    benchmark:
        "results/benchmarks/resize_chunk/{video_uid}.tsv"
    conda:
        "../../envs/videos.yaml"
    threads: config["videos"]["threads"]
    resources:
        mem_mb=memory(4000),
        runtime=config["videos"]["runtime"],
    params:
        path=get_video_file,
        chunks=config["videos"]["chunks"],
        on_error=config["videos"]["on_error"],
    script:
        "../scripts/resize_chunk.py"


rule video_manifest:
    input:
        probes=expand(rules.probe_video.output[0], video_uid=videos.index),
        chunks=expand(rules.resize_chunk.output[0], video_uid=videos.index),
    output:
        manifest="results/videos/manifest.tsv",
        rejected="results/videos/rejected.tsv",
    log:
        "logs/videos/video_manifest/all.log",
    conda:
        "../../envs/videos.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime="30m",
    script:
        "../scripts/video_manifest.py"
