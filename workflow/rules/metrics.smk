# The one results table: every stage's metrics JSON gathered into results/metrics/summary.tsv, and its figure
# (one panel per task, runs side by side). Inputs come from get_metrics_inputs (common.smk), which collects
# every JSON the `all` target asks for, so later stages add rows without editing this rule.


rule metrics_summary:
    input:
        get_metrics_inputs,
    output:
        table=report(
            "results/metrics/summary.tsv",
            category="Metrics",
            labels={"title": "Results table", "kind": "table"},
        ),
        figure=report(
            "results/metrics/summary.svg",
            category="Metrics",
            labels={"title": "Results per task", "kind": "figure"},
        ),
    log:
        "logs/metrics/metrics_summary/all.log",
    benchmark:
        "results/benchmarks/metrics_summary/all.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime="30m",
    script:
        "../scripts/metrics_summary.py"
