//! One module per subcommand.

pub mod bench;
#[cfg(feature = "burn")]
pub mod bench_burn;
#[cfg(not(feature = "burn"))]
#[path = "bench_burn_missing.rs"]
pub mod bench_burn;
pub mod bench_pipeline;
pub mod calibrate;
pub mod eval;
pub mod export;
pub mod inputs;
pub mod model;
pub mod model_arg;
pub mod predict;
pub mod recipe;
pub mod serve;
pub mod train;
pub mod tta_arg;
pub mod video;
