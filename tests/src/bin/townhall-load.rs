//! `townhall-load`: the load generator of issue 5.
//!
//! Starts the real `townhall` binary (or connects to `--url`), runs one named
//! workload for a bounded time and count, and prints one line of JSON with
//! its figures. `townhall-load --help` lists the workloads; `scripts/bench.sh`
//! runs them all; `docs/benchmarks.md` records the figures. The code lives
//! in `tests/src/load/` (see the layout there).

#[path = "../load/mod.rs"]
mod load;

fn main() -> anyhow::Result<()> {
    load::main()
}
