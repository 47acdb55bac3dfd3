"""sessionforge.pipeline: many git repositories -> one dataset folder, on any executor, resumable.

Modules, in the order data flows through them::

    config     BuildConfig (replay options, codec, shard size, slicing, filters, run options)
    inputs     INPUT arguments -> ordered RepoSpecs (paths, folders, URLs, CSV/Parquet/JSONL manifests)
    clone      bare clones of URLs in a cache (atomic, reused)
    plan       per repository: clone/open, list commits, cut into slices -> ReplayTasks
    task       worker side: replay one slice into its own shards, publish, write the marker
    executors  local / process pool / Ray, all running the same task functions
    state      the output folder: layout, config guard, lock, completion markers
    manifest   manifest.parquet, errors.parquet, dataset.json
    runner     build_dataset(): the whole build
    progress   progress bar and summary table
    stats      `sessionforge stats`
    verify     `sessionforge verify` (checksums, full decode, deep re-replay)

Entry points: ``sessionforge.pipeline.runner.build_dataset``,
``sessionforge.pipeline.stats.dataset_stats``, ``sessionforge.pipeline.verify.verify_dataset``.
"""
