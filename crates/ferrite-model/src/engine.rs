use serde::{Deserialize, Serialize};

/// Which implementation runs the network: both read and write the same model files.
/// `Default` is burn because run configurations saved before the engine existed were burn's;
/// the CLI and `TrainConfig::default()` choose the faster `Ferrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// burn 0.22 on its Flex CPU backend (the reference implementation).
    #[default]
    Burn,
    /// Ferrite's own gemm-based CPU engine.
    Ferrite,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "burn" => Ok(Engine::Burn),
            "ferrite" => Ok(Engine::Ferrite),
            other => Err(format!("unknown engine `{other}` (burn, ferrite)")),
        }
    }
}
