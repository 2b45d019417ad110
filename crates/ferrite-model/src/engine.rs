use std::fmt;

use serde::{Deserialize, Serialize};

/// Which implementation runs the network: both read and write the same model files.
/// `Default` is burn because run configurations saved before the engine existed were burn's;
/// the CLI and `TrainConfig::default()` choose the faster `Ferrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// burn 0.22 (the reference implementation; the `burn` cargo feature).
    #[default]
    Burn,
    /// Ferrite's own gemm-based CPU engine.
    Ferrite,
}

impl Engine {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Burn => "burn",
            Engine::Ferrite => "ferrite",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
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

/// The processor a run trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TrainDevice {
    /// The CPU (the gemm engine, or burn's Flex backend).
    #[default]
    Cpu,
    /// A GPU through burn's wgpu backend on Vulkan; needs a build with the `vulkan` feature.
    Vulkan,
}

impl TrainDevice {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            TrainDevice::Cpu => "cpu",
            TrainDevice::Vulkan => "vulkan",
        }
    }
}

impl fmt::Display for TrainDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for TrainDevice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(TrainDevice::Cpu),
            "vulkan" => Ok(TrainDevice::Vulkan),
            other => Err(format!("unknown device `{other}` (cpu, vulkan)")),
        }
    }
}
