//! Where a run trained: the machine's description for the card's training record, read from
//! /proc/cpuinfo, rayon's thread count and, on a GPU, nvidia-smi.

use ferrite_model::TrainDevice;

/// CPU model, threads and GPU, e.g. `AMD EPYC, 2 threads, no GPU`.
pub(crate) fn hardware(device: TrainDevice) -> String {
    let gpu = match device {
        TrainDevice::Cpu => "no GPU".to_string(),
        TrainDevice::Vulkan => gpu_name().unwrap_or_else(|| "a GPU through Vulkan".into()),
    };
    format!(
        "{}, {} threads, {gpu}",
        cpu_name().unwrap_or_else(|| "unknown CPU".into()),
        rayon::current_num_threads()
    )
}

/// The CPU's model name from /proc/cpuinfo (Linux).
fn cpu_name() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split(':').nth(1)?.trim().to_string())
}

/// The GPU's name as nvidia-smi reports it, where it is installed.
fn gpu_name() -> Option<String> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output()
        .ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}
