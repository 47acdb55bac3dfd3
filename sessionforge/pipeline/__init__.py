"""sessionforge.pipeline: many git repositories -> one dataset folder, on any executor, resumable.

Modules, in the order data flows through them::

    config         BuildConfig (replay options, codec, shard size, slicing, filters, execution)
    inputs         INPUT arguments -> ordered RepoSpecs (paths, folders, URLs, CSV/Parquet/JSONL manifests)
    clone          bare clones of URLs in a cache (atomic, reused)
    jobs           the typed records between driver and workers: PlanJob/RepoPlan, SliceJob/SliceResult, Failure
    plan           per repository: clone/open, list commits, cut into slices -> SliceJobs
    replay_slice   worker side: replay one slice into its own shards, publish, write the marker
    time_limit     the soft per-job time limit
    executors      local / process pool / Ray, all running the same job functions
    state          the output folder: layout, config guard, lock, completion markers
    manifest       writes manifest.parquet, errors.parquet, dataset.json (schemas: sessionforge.dataset)
    runner         build_dataset(): the whole build
    build_progress progress bar, per-job log lines and the summary table
    stats          `sessionforge stats`
    verify         `sessionforge verify` (checksums, full decode, deep re-replay)

Entry points: ``sessionforge.pipeline.runner.build_dataset``,
``sessionforge.pipeline.stats.dataset_stats``, ``sessionforge.pipeline.verify.verify_dataset``.
Datasets are read back through :mod:`sessionforge.dataset`.
"""
