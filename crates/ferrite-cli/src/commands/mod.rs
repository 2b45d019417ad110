//! One module per subcommand.

pub mod bench;
pub mod bench_pipeline;
pub mod eval;
pub mod inputs;
pub mod model;
pub mod predict;
pub mod serve;
pub mod train;
