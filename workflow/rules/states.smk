# Object state changes: the multi-task ChangeIt pipeline. The noise-adaptive video weights, one training job
# (checkpoints to resume from in results/states/checkpoints/, not outputs), the per-second predictions of the
# annotated videos and their state / action precision@1.


rule video_weights:
    input:
        annotation_inputs("changeit"),
    output:
        "results/states/video_weights.tsv",
    log:
        "logs/states/video_weights/all.log",
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime="10m",
    params:
        method=pick(config["states"]["method"], "video_weights", "temperature"),
    script:
        "../scripts/video_weights.py"


rule train_states:
    input:
        manifest=rules.video_manifest.output.manifest,
        changeit=annotation_inputs("changeit"),
    output:
        model="results/states/model.pt",
        config="results/states/config.json",
        log=report(
            "results/states/log.csv",
            category="Object states",
            labels={"title": "Object-state training losses", "kind": "curves"},
        ),
    log:
        "logs/states/train_states/all.log",
    benchmark:
        "results/benchmarks/train_states/all.tsv"
    conda:
        "../../envs/train.yaml"
    threads: config["states"]["threads"]
    resources:
        mem_mb=memory(config["states"]["mem_mb"]),
        runtime=config["states"]["runtime"],
    params:
        settings=states_settings(),
    script:
        "../scripts/train_states.py"


rule predict_states:
    input:
        model=rules.train_states.output.model,
        manifest=rules.video_manifest.output.manifest,
        changeit=annotation_inputs("changeit"),
    output:
        "results/states/predictions.tsv",
    log:
        "logs/states/predict_states/all.log",
    benchmark:
        "results/benchmarks/predict_states/all.tsv"
    conda:
        "../../envs/train.yaml"
    threads: config["states"]["threads"]
    resources:
        mem_mb=memory(config["states"]["mem_mb"]),
        runtime=config["states"]["runtime"],
    script:
        "../scripts/predict_states.py"


rule evaluate_states:
    input:
        predictions=rules.predict_states.output[0],
        model=rules.train_states.output.model,
        changeit=annotation_inputs("changeit"),
    output:
        result="results/states/changeit.json",
        table=report(
            "results/states/changeit_categories.tsv",
            category="Object states",
            labels={"title": "ChangeIt precision@1 per category", "kind": "table"},
        ),
    log:
        "logs/states/evaluate_states/all.log",
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime="30m",
    script:
        "../scripts/evaluate_states.py"
